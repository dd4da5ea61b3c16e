"""Groovy sources of the execution harness (package data)."""
