"""The running bridge: scheduling, polling, the command road and the daemon."""
