## fastmcd_seeds.R -- robustbase FastMCD's objective over many seeds on real data
## (issue 11 item 6: for 600 <= n <= 5000 FastMCD carries all ten stage-2
## candidates through the final stage; our objective must be no worse).
##
## Run from the repository root:   Rscript tests/reference/fastmcd_seeds.R
## Output: tests/reference/data/fastmcd_seeds.json with, for radarImage (1573 x 5,
## robustbase) and quakes (1000 x 5, datasets) and alpha in {0.5, 0.75}:
## crit (log det of the raw subset's covariance, divisor h - 1) of
##   set.seed(s); covMcd(X, alpha = alpha)      (nsamp = 500)
## for s = 1..100, and the data themselves.

script_dir <- local({                   # this folder, wherever R is started
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  if (length(f)) dirname(normalizePath(f)) else if (dir.exists("tests/reference")) "tests/reference" else "."
})
source(file.path(script_dir, "_fixtures.R"))

data(radarImage, package = "robustbase")
sets <- list(radarImage = data.matrix(radarImage), quakes = data.matrix(quakes))
seeds <- 1:100
res <- list(`_meta` = meta("fastmcd_seeds.R"), seeds = I(seeds))
for (nm in names(sets)) {
  X <- sets[[nm]]
  fits <- list()
  for (a in c(0.5, 0.75)) {
    crit <- vapply(seeds, function(s) {
      set.seed(s)
      fit <- covMcd(X, alpha = a)
      determinant(cov(X[fit$best, , drop = FALSE]))$modulus[1]
    }, 0)
    fits[[paste0("alpha_", a)]] <- list(alpha = a, h = h.alpha.n(a, nrow(X), ncol(X)),
                                        crit = I(crit))
    cat(sprintf("%s alpha=%.2f: crit median %.6f min %.6f max %.6f\n", nm, a,
                median(crit), min(crit), max(crit)))
  }
  res[[nm]] <- list(X = X, columns = colnames(X), fits = fits)
}
write_fixture(res, "fastmcd_seeds.json")
