"""Flood budgets: who may come in how often, without knowing who anyone is.

``clients`` (pure: the client address behind trusted proxies, its rotating keyed hash) and
``service`` (the budgets themselves, on the ``limits`` library).
"""
