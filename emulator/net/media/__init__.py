"""Voice on the wire: our Opus encoder and decoder, fan-out of one encoding to many tracks, the room's
direct RTP send, the receive tap into our playout buffer (the jitter buffer), and RTP loss on receive.
"""
