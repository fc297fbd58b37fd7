"""The HTTP API of spec §4, served by Powertools' APIGatewayRestResolver."""
