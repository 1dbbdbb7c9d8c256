"""A tier's business profile: the distributions a person checks first (pure), and their pictures."""
