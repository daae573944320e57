"""Narrative per report: findings, card notes, actions and method notes generated from typed results."""
