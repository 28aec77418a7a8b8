"""Gold stage: sources, recipe detection, image build, repeated test runs, stability."""
