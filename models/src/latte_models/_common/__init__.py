"""Pieces every model build shares: data split, evaluation, gates, export checks, reports."""
