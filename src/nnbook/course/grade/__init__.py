"""Grade: collect submissions, autograde them in the sandbox, trust what comes out."""
