"""The simulator's behaviour as plain functions; views.py only translates HTTP to these and back."""
