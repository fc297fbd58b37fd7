"""Campaigns (spec §4): what advertisers buy, and which of them a lookup offers."""
