"""The worker channel: how a sandboxed agent reaches the tracker.

Each worker gets a Unix socket and a token. The token, not the agent, decides who acts
(``worker/<name>``) and what it may do (``policy``). ``protocol`` defines the messages,
``server`` answers them (hosted by the worker's shim), ``client`` and ``cli`` are the agent's
side, ``paths`` says where the socket lives (a short private directory the sandbox binds).
"""
