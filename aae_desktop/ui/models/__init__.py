"""Choosing, downloading, inspecting and configuring models: the Model menu and its dialogs."""
