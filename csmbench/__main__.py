"""``python -m csmbench`` runs the command line."""

from csmbench._cli import main

main()
