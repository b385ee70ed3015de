## classical.R -- reference values for classical (non-robust) Mahalanobis
## quantities, computed with base R / stats.
##
## Run from the repository root:   Rscript tests/reference/classical.R
## Output:                          tests/reference/data/classical_<name>.json
##
## For every data set we store
##   * the data itself (X, columns, rownames) so the Python tests need only the JSON,
##   * colMeans(X) and cov(X)              (cov() uses the n - 1 divisor),
##   * stats::mahalanobis(X, colMeans(X), cov(X))   -- SQUARED distances,
##   * the squared distances to a second, arbitrary centre
##       center2 = colMeans(X) + 0.5 * sqrt(diag(cov(X))),
##   * for stackloss and hbk: hatvalues() of the linear model
##       stack.loss ~ .   and   Y ~ .
##     (the leverages satisfy h_ii = 1/n + d2_i/(n - 1) where d2_i is the
##     squared Mahalanobis distance of the regressor row to the regressor means).
##
## Nothing here is random.  See tests/reference/README.md for the JSON schema.

script_dir <- local({                   # this folder, wherever R is started
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  if (length(f)) dirname(normalizePath(f)) else if (dir.exists("tests/reference")) "tests/reference" else "."
})
source(file.path(script_dir, "_fixtures.R"))

## ---------------------------------------------------------------------------
## data sets
## ---------------------------------------------------------------------------
data(hbk, starsCYG, wood, package = "robustbase")

## each entry: the numeric data frame and a one-line provenance string
sets <- list(
  stackloss = list(df = stackloss,
                   source = "datasets::stackloss (all 4 columns)"),
  hbk_x     = list(df = hbk[, c("X1", "X2", "X3")],
                   source = "robustbase::hbk, columns X1..X3"),
  hbk       = list(df = hbk,
                   source = "robustbase::hbk, all 4 columns (X1, X2, X3, Y)"),
  starsCYG  = list(df = starsCYG, source = "robustbase::starsCYG"),
  wood_x    = list(df = wood[, paste0("x", 1:5)],
                   source = "robustbase::wood, columns x1..x5"),
  swiss     = list(df = swiss, source = "datasets::swiss"),
  USArrests = list(df = USArrests, source = "datasets::USArrests"),
  mtcars    = list(df = mtcars, source = "datasets::mtcars"),
  iris      = list(df = iris[, 1:4],
                   source = "datasets::iris, the 4 numeric columns (Species dropped)")
)

## linear models whose hat values we store (response ~ all other columns)
hat_models <- list(stackloss = stack.loss ~ ., hbk = Y ~ .)

for (nm in names(sets)) {
  df <- sets[[nm]]$df
  X  <- data.matrix(df)                       # n x p double matrix
  storage.mode(X) <- "double"
  n  <- nrow(X); p <- ncol(X)

  mu <- colMeans(X)
  S  <- cov(X)
  d2 <- mahalanobis(X, mu, S)                 # squared distances
  center2 <- mu + 0.5 * sqrt(diag(S))
  d2_c2 <- mahalanobis(X, center2, S)

  res <- list(
    `_meta` = meta("classical.R"),
    name = nm,
    source = sets[[nm]]$source,
    n = n, p = p,
    columns = I(colnames(X)),
    rownames = I(rownames(df)),
    X = unname(X),
    colMeans = I(unname(mu)),
    cov = unname(S),
    cov_inverse = unname(solve(S)),
    logdet_cov = as.numeric(determinant(S, logarithm = TRUE)$modulus),
    mahalanobis_d2 = I(unname(d2)),
    center2 = I(unname(center2)),
    mahalanobis_d2_center2 = I(unname(d2_c2))
  )

  if (!is.null(hat_models[[nm]])) {
    fit <- lm(hat_models[[nm]], data = df)
    res$hat_formula <- deparse(hat_models[[nm]])
    res$hat_design_columns <- I(colnames(model.matrix(fit)))   # incl. "(Intercept)"
    res$hat <- I(unname(hatvalues(fit)))
    ## sanity check of the identity quoted in the header
    xr <- X[, setdiff(colnames(X), all.vars(hat_models[[nm]])[1]), drop = FALSE]
    stopifnot(all.equal(unname(hatvalues(fit)),
                        unname(1 / n + mahalanobis(xr, colMeans(xr), cov(xr)) / (n - 1))))
  }

  write_fixture(res, paste0("classical_", nm, ".json"))
}
