"""Blueprints (组卷方案), paper assembly (pure and seeded) and practical task specifications."""
