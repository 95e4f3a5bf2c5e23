"""The desktop app (PySide6): the main window, the OpenGL viewport and its surfaces, the docks, and
the app's session around one headset. The only package that imports Qt; it runs on qasync's loop
and paints from snapshots, never awaiting the network.
"""
