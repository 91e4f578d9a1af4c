"""One module per ``twin`` subcommand: ``add_parser(subparsers)`` sets ``handler=run``."""
