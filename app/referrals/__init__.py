"""Referrals: the helpline directory and the referral lifecycle (pure, data-driven)."""
