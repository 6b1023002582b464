"""The Textual app of studbook: screens, widgets and styles, in a terminal or served to a browser."""
