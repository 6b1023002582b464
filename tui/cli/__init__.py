"""The `studbook` command: parsing, rendering for people and scripts, exit codes. No Textual at start."""
