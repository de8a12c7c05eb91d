"""evaluator: scores every answer off the request path, runs A/B analysis, learns FAQ candidates."""
