"""LTI 1.3 tool: launched from a 学習eポータル (L-Gate, まなびポケット …), see docs/lti.md."""
