"""Session recordings: the file format, the recorder that hooks a running headset, and replay drivers.

They sit in the headset layer (not `qa`) because both the headless `join --record/--replay` (qa) and
the app's record button and ghost participant (ui) use them, and those two layers are independent.
"""
