"""stream/agents"""
