"""The seeker's safety plan (Stanley-Brown, six steps), filled in together in the chat.

The volunteer opens it when the conversation's level calls for it (``offer_safety_plan`` in
the routing data); the seeker and the writing staff edit it; everyone in the conversation
sees it (``safety_plan`` frames), and it comes back on resume. It is stored with the
conversation and follows retention; the seeker can save it to their own device, which the
server never hears about. A seeker who keeps a return code (``app.return_code``) has a copy
kept with the code, which brings it into their next chat.
"""
