"""`pipelinegen init`: a starting pipeline.yaml for an existing checkout (detect -> render), then generated/."""
