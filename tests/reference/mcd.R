## mcd.R -- reference values for the Minimum Covariance Determinant estimator
## (robustbase::covMcd), its correction factors and h(alpha, n, p).
##
## Run from the repository root:   Rscript tests/reference/mcd.R
## Outputs (tests/reference/data/):
##   mcd_<name>.json       DetMCD and FastMCD fits, alpha in {0.5, 0.75}, for
##                         hbk_x, starsCYG, wood_x, stackloss, milk, bushfire,
##                         synthetic (n = 200, p = 4, 10% shifted outliers)
##   mcd_univariate.json   p = 1 fits (stackloss$stack.loss, starsCYG$log.Te)
##   h_alpha_n.json        robustbase::h.alpha.n on a grid
##   mcd_factors.json      .MCDcons, .MCDcnp2, .MCDcnp2.rew on grids + the
##                         simulated lookup tables they use for alpha = 0.5
##
## IMPORTANT -- version dependence of the reweighted covariance
## ------------------------------------------------------------
## The installed robustbase (see "_meta") is older than 0.99-0.  Its covMcd()
## (print robustbase:::covMcd and look for "cdelta.rew") rescales the
## reweighted covariance as
##     cov = cov.wt(X, w)$cov * .MCDcons(p, sum(w)/n) * .MCDcnp2.rew(p, n, alpha)
## (only when sum(w) != n; w = raw.weights = 1{raw robust d2 < qchisq(0.975, p)}),
## whereas robustbase >= 0.99-0 uses .MCDcons(p, 0.975) in place of
## .MCDcons(p, sum(w)/n), the finite-sample factor .MCDcnp2.rew(p, n, alpha)
## being applied exactly as before.  Every fit therefore also carries
##     cov_new_convention = cov * .MCDcons(p, 0.975) / .MCDcons(p, sum(w)/n)
## (factor 1 when sum(w) == n) together with the distances and final weights
## recomputed from it.  Raw estimates, best subsets, crit, center and
## raw.weights do not depend on this convention.  See README.md.
##
## Randomness: FastMCD is run as  set.seed(1); covMcd(X, alpha = alpha)  and the
## synthetic data set is generated with set.seed(20240611); DetMCD is
## deterministic.

script_dir <- local({                   # this folder, wherever R is started
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  if (length(f)) dirname(normalizePath(f)) else if (dir.exists("tests/reference")) "tests/reference" else "."
})
source(file.path(script_dir, "_fixtures.R"))


rb <- asNamespace("robustbase")
MCDcons     <- get(".MCDcons", rb)
MCDcnp2     <- get(".MCDcnp2", rb)
MCDcnp2.rew <- get(".MCDcnp2.rew", rb)

## make sure the installed covMcd() really uses the *old* convention described
## in the header; fail loudly if someone regenerates with a newer robustbase
covMcd_src <- paste(deparse(covMcd), collapse = "\n")
old_convention <- grepl("cdelta.rew <- .MCDcons(p, sum.w/n)", covMcd_src, fixed = TRUE)
new_convention <- grepl("cdelta.rew <- .MCDcons(p, 0.975)", covMcd_src, fixed = TRUE)
if (!xor(old_convention, new_convention))
  stop("cannot tell which reweighting convention covMcd() uses -- read its source")
installed_convention <- if (old_convention) "old: .MCDcons(p, sum(w)/n)" else "new: .MCDcons(p, 0.975)"
cat("installed covMcd reweighting convention:", installed_convention, "\n")

## ---------------------------------------------------------------------------
## helpers
## ---------------------------------------------------------------------------

## squared distances; NA if the scatter matrix is singular (buggy p = 1 DetMCD)
safe_mah <- function(X, m, S)
  tryCatch(mahalanobis(X, m, S), error = function(e) rep(NA_real_, nrow(X)))

## one covMcd() fit -> list of plain vectors / matrices
mcd_record <- function(fit, X, algorithm, alpha, nsamp, seed, warnings) {
  n <- nrow(X); p <- ncol(X)
  cutoff <- qchisq(0.975, p)
  raw_w <- fit$raw.weights
  if (is.null(raw_w)) {               # p = 1: covMcd() does not return them
    raw_w <- as.numeric((X[, 1] - fit$raw.center)^2 / fit$raw.cov[1, 1] < cutoff)
  }
  sw <- sum(raw_w)
  ## uncorrected reweighted covariance, i.e. cov.wt() of the raw.weights == 1 rows
  cw <- cov.wt(X, wt = raw_w)
  stopifnot(all.equal(unname(cw$center), unname(fit$center)),
            all.equal(unname(cw$cov) * prod(fit$cnp2), unname(fit$cov)))
  ## conversion to the robustbase >= 0.99-0 convention
  if (sw != n) {
    f_old <- MCDcons(p, sw / n)
    f_new <- MCDcons(p, 0.975)
    stopifnot(isTRUE(all.equal(fit$cnp2[1], f_old)))
  } else {
    f_old <- f_new <- 1
  }
  cov_new <- fit$cov * (f_new / f_old)
  mah_new <- safe_mah(X, fit$center, cov_new)
  mah     <- safe_mah(X, fit$center, fit$cov)
  raw_mah <- safe_mah(X, fit$raw.center, fit$raw.cov)
  if (!anyNA(mah))
    stopifnot(all.equal(as.numeric(fit$mcd.wt), as.numeric(mah < cutoff)))

  list(
    algorithm = algorithm,
    call = paste(deparse(fit$call), collapse = " "),
    method = fit$method,
    alpha = alpha,
    nsamp = nsamp,
    seed = if (is.null(seed)) NA else seed,
    n.obs = n,
    quan = fit$quan,
    crit = fit$crit,
    best = if (is.null(fit$best)) NA else I(as.integer(fit$best)),
    raw.center = I(unname(fit$raw.center)),
    raw.cov = unname(fit$raw.cov),
    raw.cnp2 = I(unname(fit$raw.cnp2)),
    raw.weights = I(unname(raw_w)),
    raw.weights_returned_by_covMcd = !is.null(fit$raw.weights),
    raw.mah = I(unname(raw_mah)),
    center = I(unname(fit$center)),
    cov = unname(fit$cov),
    cnp2 = I(unname(fit$cnp2)),
    mah = I(unname(mah)),
    mcd.wt = I(unname(as.numeric(fit$mcd.wt))),
    cov_uncorrected = unname(cw$cov),
    sum_raw_weights = sw,
    chisq_cutoff = cutoff,
    cov_new_convention = unname(cov_new),
    cnp2_new_convention = I(c(f_new, fit$cnp2[2])),
    new_convention_factor = f_new / f_old,
    mah_new_convention = I(unname(mah_new)),
    mcd.wt_new_convention = I(as.numeric(mah_new < cutoff)),
    iBest = if (is.null(fit$iBest)) NA else I(as.integer(fit$iBest)),
    n.csteps = if (is.null(fit$n.csteps)) NA else I(as.integer(fit$n.csteps)),
    singularity = if (is.null(fit$singularity)) NA else fit$singularity$kind,
    warnings = I(warnings)
  )
}

fit_all <- function(X) {
  fits <- list()
  for (alpha in c(0.5, 0.75)) {
    r <- quiet(covMcd(X, alpha = alpha, nsamp = "deterministic"))
    fits[[length(fits) + 1]] <- mcd_record(r$value, X, "DetMCD", alpha,
                                           "deterministic", NULL, r$warnings)
    set.seed(1)
    r <- quiet(covMcd(X, alpha = alpha))          # nsamp = 500 (default)
    fits[[length(fits) + 1]] <- mcd_record(r$value, X, "FastMCD", alpha, 500L, 1L,
                                           r$warnings)
  }
  fits
}

## exact MCD by enumerating all h-subsets (only for small n)
exact_mcd <- function(X, alpha) {
  n <- nrow(X); p <- ncol(X); h <- h.alpha.n(alpha, n, p)
  cmb <- combn(n, h)
  ld <- apply(cmb, 2, function(i) {
    Y <- X[i, , drop = FALSE]
    Y <- sweep(Y, 2, colMeans(Y))
    determinant(crossprod(Y) / (h - 1), logarithm = TRUE)$modulus
  })
  o <- order(ld)
  list(alpha = alpha, quan = h, n_subsets = ncol(cmb),
       crit = ld[o[1]], best = I(as.integer(cmb[, o[1]])),
       second_crit = ld[o[2]], second_best = I(as.integer(cmb[, o[2]])))
}

## ---------------------------------------------------------------------------
## data sets
## ---------------------------------------------------------------------------
data(hbk, starsCYG, wood, milk, bushfire, package = "robustbase")

## synthetic: n = 200, p = 4, equicorrelated (rho = 0.5) normal data, the last
## 20 rows (10%) shifted by (4, -4, 4, -4) -- a direction across the main axis
set.seed(20240611)
syn_n <- 200; syn_p <- 4
Sigma <- matrix(0.5, syn_p, syn_p); diag(Sigma) <- 1
synthetic <- matrix(rnorm(syn_n * syn_p), syn_n, syn_p) %*% chol(Sigma)
outlier_rows <- (syn_n - 19):syn_n
synthetic[outlier_rows, ] <- sweep(synthetic[outlier_rows, ], 2, c(4, -4, 4, -4), "+")
colnames(synthetic) <- paste0("V", 1:syn_p)

sets <- list(
  hbk_x     = list(X = hbk[, c("X1", "X2", "X3")], source = "robustbase::hbk, columns X1..X3"),
  starsCYG  = list(X = starsCYG, source = "robustbase::starsCYG"),
  wood_x    = list(X = wood[, paste0("x", 1:5)], source = "robustbase::wood, columns x1..x5"),
  stackloss = list(X = stackloss, source = "datasets::stackloss (all 4 columns)"),
  milk      = list(X = milk, source = "robustbase::milk"),
  bushfire  = list(X = bushfire, source = "robustbase::bushfire"),
  synthetic = list(X = as.data.frame(synthetic),
                   source = paste("synthetic: set.seed(20240611); X = matrix(rnorm(200*4), 200, 4) %*%",
                                  "chol(Sigma), Sigma = 0.5 + 0.5*I; rows 181:200 += c(4,-4,4,-4)"))
)
exact_sets <- c("stackloss", "wood_x")          # small enough for enumeration

for (nm in names(sets)) {
  df <- sets[[nm]]$X
  X <- data.matrix(df); storage.mode(X) <- "double"
  res <- list(
    `_meta` = c(meta("mcd.R"), list(covMcd_reweighting_convention = installed_convention)),
    name = nm, source = sets[[nm]]$source,
    n = nrow(X), p = ncol(X),
    columns = I(colnames(X)),
    rownames = I(if (nm == "synthetic") as.character(seq_len(nrow(X))) else rownames(df)),
    X = unname(X),
    fits = fit_all(X)
  )
  if (nm == "synthetic") res$outlier_rows <- I(outlier_rows)
  if (nm %in% exact_sets)
    res$exact = list(exact_mcd(X, 0.5), exact_mcd(X, 0.75))
  write_fixture(res, paste0("mcd_", nm, ".json"))
}

## ---------------------------------------------------------------------------
## univariate (p = 1)
## ---------------------------------------------------------------------------
## Notes (robustbase 0.95-0):
##  * FastMCD for p = 1 is the exact univariate MCD (contiguous window of the
##    sorted data); its raw variance uses the divisor h (not h - 1):
##      raw.cov = raw.cnp2[1] * raw.cnp2[2] * sum((x_H - mean(x_H))^2) / h,
##    while crit = log(sum((x_H - mean(x_H))^2) / (h - 1)).
##  * covMcd(x, nsamp = "deterministic") with p = 1 is BROKEN in this version:
##    .detmcd() returns the variance of the best subset but covMcd() treats it
##    as a standard deviation (squares it again).  Those fits are stored with
##    reference_ok = false and must not be used as reference values.
uni <- list(
  stack.loss = list(x = stackloss$stack.loss, source = "datasets::stackloss$stack.loss"),
  log.Te     = list(x = starsCYG$log.Te, source = "robustbase::starsCYG$log.Te")
)
uni_out <- list()
for (nm in names(uni)) {
  x <- uni[[nm]]$x
  X <- matrix(x, ncol = 1, dimnames = list(NULL, nm))
  n <- length(x)
  fits <- list()
  for (alpha in c(0.5, 0.75)) {
    h <- h.alpha.n(alpha, n, 1)
    ## the exact univariate MCD window, for reference
    xs <- sort(x); ss <- sapply(1:(n - h + 1), function(i) {
      w <- xs[i:(i + h - 1)]; sum((w - mean(w))^2) })
    i0 <- which.min(ss); win <- xs[i0:(i0 + h - 1)]

    set.seed(1)
    r <- quiet(covMcd(x, alpha = alpha))
    rec <- mcd_record(r$value, X, "FastMCD", alpha, 500L, 1L, r$warnings)
    stopifnot(all.equal(rec$raw.center[[1]], mean(win)),
              all.equal(r$value$raw.cov[1, 1], prod(r$value$raw.cnp2) * ss[i0] / h),
              all.equal(r$value$crit, log(ss[i0] / (h - 1))))
    rec$reference_ok <- TRUE
    rec$exact_window_sorted_values <- I(win)
    rec$exact_window_ss <- ss[i0]
    fits[[length(fits) + 1]] <- rec

    r <- quiet(covMcd(x, alpha = alpha, nsamp = "deterministic"))
    rec <- mcd_record(r$value, X, "DetMCD", alpha, "deterministic", NULL, r$warnings)
    rec$reference_ok <- FALSE
    rec$note <- paste("robustbase 0.95-0 bug: for p = 1 .detmcd() returns a variance that",
                      "covMcd() treats as a standard deviation; do not use as reference")
    fits[[length(fits) + 1]] <- rec
  }
  uni_out[[nm]] <- list(name = nm, source = uni[[nm]]$source, n = n, p = 1L,
                        x = I(x), fits = fits)
}
write_fixture(list(`_meta` = c(meta("mcd.R"),
                               list(covMcd_reweighting_convention = installed_convention)),
                   datasets = unname(uni_out)),
              "mcd_univariate.json")

## ---------------------------------------------------------------------------
## h.alpha.n grid
## ---------------------------------------------------------------------------
hg <- list()
for (alpha in c(0.5, 0.6, 0.75, 0.9, 1)) for (n in c(10, 21, 75, 100, 1000))
  for (p in c(1, 2, 3, 5, 10)) if (n > p)
    hg[[length(hg) + 1]] <- list(alpha = alpha, n = as.integer(n), p = as.integer(p),
                                 h = as.integer(h.alpha.n(alpha, n, p)))
write_fixture(list(`_meta` = meta("mcd.R"),
                   formula = "n2 = (n + p + 1) %/% 2; h = floor(2*n2 - n + 2*(n - n2)*alpha)",
                   records = hg),
              "h_alpha_n.json")

## ---------------------------------------------------------------------------
## correction factors
## ---------------------------------------------------------------------------
cons <- list()
for (p in 1:20) for (a in c(0.5, 0.6, 0.75, 0.9, 0.975))
  cons[[length(cons) + 1]] <- list(p = p, alpha = a, value = MCDcons(p, a))

cnp2 <- list()
for (p in c(1, 2, 3, 5, 8, 10, 15)) for (n in c(20, 50, 100, 500, 1000))
  for (a in c(0.5, 0.75, 0.9))
    cnp2[[length(cnp2) + 1]] <- list(p = as.integer(p), n = as.integer(n), alpha = a,
                                     cnp2 = MCDcnp2(p, n, a),
                                     cnp2_rew = MCDcnp2.rew(p, n, a))
## extra (p, n) pairs where the alpha = 0.5 simulated lookup tables are used
tab_env <- environment(get("MCDcnp2s", rb)$sim.0)
cnp2_tab <- list()
for (pn in list(c(1, 2), c(2, 5), c(3, 8), c(4, 12), c(5, 12), c(6, 15), c(7, 20),
                c(8, 18), c(9, 20), c(3, 11), c(5, 17)))
  for (a in c(0.5, 0.75)) {
    p <- pn[1]; n <- pn[2]
    cnp2_tab[[length(cnp2_tab) + 1]] <- list(
      p = as.integer(p), n = as.integer(n), alpha = a,
      cnp2 = MCDcnp2(p, n, a), cnp2_rew = MCDcnp2.rew(p, n, a),
      uses_table_raw = (a == 0.5) && !is.na(get("MCDcnp2s", rb)$sim.0(p, n)),
      uses_table_rew = (a == 0.5) && !is.na(get("MCDcnp2s", rb)$sim.rew(p, n)))
  }

write_fixture(list(
  `_meta` = meta("mcd.R"),
  MCDcons_formula = "1 / (pgamma(qchisq(alpha, p)/2, p/2 + 1) / alpha)",
  MCDcons = cons,
  MCDcnp2 = cnp2,
  MCDcnp2_table_cases = cnp2_tab,
  simulated_tables = list(
    note = paste("Used by .MCDcnp2 (m.0) and .MCDcnp2.rew (m.rew) only when alpha == 0.5 and",
                 "p.min <= p <= p.max and n.min[p] <= n <= n.max[p] (resp. n.min.rew/n.max.rew);",
                 "then fp.500.n = 1 / m[n - n.min[p] + 1, p - p.min + 1] (1-based indices)."),
    p.min = tab_env$p.min, p.max = tab_env$p.max,
    n.min = I(tab_env$n.min), n.max = I(tab_env$n.max),
    n.min.rew = I(tab_env$n.min.rew), n.max.rew = I(tab_env$n.max.rew),
    m.0 = tab_env$m.0, m.rew = tab_env$m.rew),
  source_MCDcnp2 = paste(deparse(MCDcnp2), collapse = "\n"),
  source_MCDcnp2.rew = paste(deparse(MCDcnp2.rew), collapse = "\n")
), "mcd_factors.json")
