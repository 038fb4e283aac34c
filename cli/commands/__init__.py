"""One module per `claims` command (or group of commands), imported only when it runs."""
