"""The right-hand parameter panel and its Attend-and-Excite group."""
