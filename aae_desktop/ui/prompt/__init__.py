"""Writing the prompt and choosing the words to excite."""
