"""Long texts and spans: windows over a doc, the spans scored, the scoring plan of a batch, and scores merged back."""
