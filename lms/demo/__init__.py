"""The demo city (みどり市): a generated OneRoster bundle loaded through the normal import path."""
