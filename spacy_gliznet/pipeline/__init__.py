"""The spaCy side: the Thinc layer, the gliznet_textcat pipe, decisions, metrics, adapt."""
