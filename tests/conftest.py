from sgdcheck.plugin import load_hypothesis_profile

load_hypothesis_profile()      # the engine's own property tests use the profile the claims use
