"""The main window's docks; each one edits or shows one part of the session and remembers itself."""
