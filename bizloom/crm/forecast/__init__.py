"""The forecast: weighted and unweighted amounts by month and owner, won against targets."""
