"""The sample story's media (video segments and LUTs), rendered by us on first use."""
