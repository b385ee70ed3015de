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

suppressPackageStartupMessages({
  library(jsonlite)
  library(robustbase)   # only for the data sets hbk, starsCYG, wood
})

## ---------------------------------------------------------------------------
## JSON helpers (identical copy in every script so that each runs standalone)
## ---------------------------------------------------------------------------
## jsonlite's toJSON(digits = NA) prints only 15 significant digits, which does
## NOT round-trip IEEE doubles.  We therefore pre-format every double with
## sprintf("%.17g") (always enough to round-trip) and hand the text to toJSON()
## as verbatim JSON.  Non-finite values (NA, NaN, +-Inf) become null.
## Convention: a numeric vector of length 1 becomes a JSON scalar unless it is
## wrapped in I(); numeric matrices always become row-major nested arrays.
script_dir <- local({
  a <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", a[grep("^--file=", a)])
  if (length(f)) dirname(normalizePath(f))
  else if (dir.exists("tests/reference")) "tests/reference" else "."
})
out_dir <- file.path(script_dir, "data")
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)

fmt_num <- function(x) {
  s <- if (is.integer(x)) sprintf("%d", x) else sprintf("%.17g", x)
  s[is.na(x) | is.infinite(x)] <- "null"
  s
}
json_prep <- function(x) {
  if (is.null(x)) return(NA)                       # -> null
  if (is.data.frame(x)) stop("convert data frames to matrices first")
  if (is.list(x)) return(lapply(x, json_prep))
  if ((is.double(x) || is.integer(x)) && !is.factor(x)) {
    if (is.matrix(x)) {
      rows <- vapply(seq_len(nrow(x)), function(i)
        paste0("[", paste(fmt_num(x[i, ]), collapse = ","), "]"), "")
      return(structure(paste0("[", paste(rows, collapse = ","), "]"), class = "json"))
    }
    if (length(x) == 1L && !inherits(x, "AsIs"))
      return(structure(fmt_num(x), class = "json"))
    return(structure(paste0("[", paste(fmt_num(as.vector(x)), collapse = ","), "]"),
                     class = "json"))
  }
  if (is.factor(x)) x <- as.character(x)
  if (!is.null(names(x)) && !inherits(x, "AsIs")) names(x) <- NULL
  x
}
write_fixture <- function(obj, file) {
  txt <- jsonlite::toJSON(json_prep(obj), digits = NA, auto_unbox = TRUE,
                          matrix = "rowmajor", na = "null",
                          json_verbatim = TRUE, pretty = TRUE)
  writeLines(txt, file.path(out_dir, file))
  cat("wrote", file.path(out_dir, file), "\n")
}
meta <- function(script) list(
  generator = paste0("tests/reference/", script),
  R_version = R.version.string,
  robustbase_version = packageDescription("robustbase")$Version,
  rrcov_version = if (requireNamespace("rrcov", quietly = TRUE))
    packageDescription("rrcov")$Version else NA,
  jsonlite_version = packageDescription("jsonlite")$Version)

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
