"""Classes: creating them, joining by code, rosters and removal, and the rooms of a class (personal, pair, demo)."""
