"""dialogue's knowledge base: the retrieval index over the FAQ entries and its calibrated confidence,
and the stored, live copy every replica answers from (library). What an entry is and how knowledge
files are read is the kernel's (`helpdesk.knowledge`), shared with the evaluator and the operator tools.
"""
