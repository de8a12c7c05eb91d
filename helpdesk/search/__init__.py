"""Text search as a kernel port: an index over fields of documents that scores a query (`port`), and
two implementations in numpy, both reading `postings`: `lexical_index` (BM25 and character n-gram
cosines over the fields of FAQ entries, from `bm25` and `character_ngrams`) and `passage_index`
(coverage by words and characters, and proximity, over the passages of documents). Services say what
their documents and fields are and how the scores are weighed; how a text is scored is here."""
