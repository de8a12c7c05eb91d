"""Text search as a kernel port: an index over fields of documents that scores a query (`port`), and
its lexical implementation in numpy (`lexical_index`, over `bm25` and `character_ngrams`, both reading
`postings`). Services say what their documents and fields are and how the scores are weighed; how a
text is scored is here."""
