"""Confinement: agents and the gate's checks run in a bubblewrap sandbox they cannot leave.

``policy`` decides what a confined process may see and write (pure); ``config`` reads
``[sandbox]``; ``bwrap`` is the adapter that turns a policy into a ``bwrap`` command line
and checks that bubblewrap is installed and works.
"""
