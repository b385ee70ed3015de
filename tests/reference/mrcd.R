## mrcd.R -- reference values for the Minimum Regularized Covariance
## Determinant estimator, rrcov::CovMrcd (Boudt, Rousseeuw, Vanduffel and
## Verdonck 2020, Statistics and Computing 30:113-128).
##
## Run from the repository root:   Rscript tests/reference/mrcd.R
## Outputs (tests/reference/data/):
##   mrcd_synthetic_p50.json   synthetic p > n case (n = 30, p = 50, seeded)
##   mrcd_octane_sub.json      rrcov::octane NIR spectra, every 3rd wavelength
##                             (n = 39, p = 76 > n), full matrices stored
##   mrcd_octane.json          rrcov::octane, all 226 wavelengths (p >> n);
##                             only vectors / summaries stored (size)
##   mrcd_hbk_x.json           robustbase::hbk X1..X3   (p < n)
##   mrcd_wood_x.json          robustbase::wood x1..x5  (p < n)
## each with alpha = 0.5 and alpha = 0.75 (target = "identity", the default),
## plus target = "equicorrelation" (alpha = 0.75) for the two p > n sets.
##
## Besides the public result (CovMrcd S4 object) we record internals of
## rrcov:::.detmrcd that a re-implementation needs: the robust standardisation
## (column medians and Qn scales), the six deterministic initial h-subsets,
## the per-subset regularisation parameters rho_k and the cut-off used to pick
## rho.  They are captured by running a copy of rrcov:::.detmrcd whose source
## is modified ONLY by inserting assignments into a capture environment; the
## script checks that this copy reproduces CovMrcd() exactly.
## A second copy, in which uniroot() is called with tol = 1e-12 instead of its
## default (.Machine$double.eps^0.25 ~ 1.2e-4), gives "tight_tol" results: the
## fit a re-implementation with an accurate root finder would produce.
##
## Nothing is random except the synthetic data (set.seed(20240612)).
## rrcov 1.7-2's CovMrcd has NO reweighting step: cov/center ARE the raw MRCD.

script_dir <- local({                   # this folder, wherever R is started
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  if (length(f)) dirname(normalizePath(f)) else if (dir.exists("tests/reference")) "tests/reference" else "."
})
source(file.path(script_dir, "_fixtures.R"))


## ---------------------------------------------------------------------------
## instrumented copies of rrcov:::.detmrcd
## ---------------------------------------------------------------------------
src_cap <- patch_sub(src_of(".detmrcd"), "vsd[vsd < minscale] <- minscale",
  "vsd[vsd < minscale] <- minscale; assign('vmx', vmx, envir = .GlobalEnv$.cap); assign('vsd', vsd, envir = .GlobalEnv$.cap)")
src_cap <- patch_sub(src_cap, "cutoffrho <- max(c(0.1, median(rho6pack)))",
  "cutoffrho <- max(c(0.1, median(rho6pack))); assign('rho6pack', rho6pack, envir = .GlobalEnv$.cap); assign('cutoffrho', cutoffrho, envir = .GlobalEnv$.cap)")
detmrcd_cap   <- mk(src_cap, rr)
detmrcd_tight <- mk(patch_sub(src_cap, "uniroot(f = fncond, lower = 1e-05, upper = 0.99)",
                              "uniroot(f = fncond, lower = 1e-05, upper = 0.99, tol = 1e-12)"), rr)

run_detmrcd <- function(f, X, alpha, target) {
  cap_reset()
  m <- f(X, alpha = alpha, h = NULL, rho = NULL, maxcond = 50,
         target = if (target == "identity") 0 else 1, maxcsteps = 200,
         hsets.init = NULL, save.hsets = TRUE, trace = FALSE)
  c(m, as.list(.cap))
}

## ---------------------------------------------------------------------------
## one fit
## ---------------------------------------------------------------------------
## full_matrices: store cov (and, for the equicorrelation target, the target
##   matrix) in full; otherwise only their diagonals.
## extra_matrices: also store icov and the tight-tolerance cov in full (small p only).
mrcd_record <- function(X, alpha, target, full_matrices = TRUE, extra_matrices = TRUE) {
  fit <- CovMrcd(X, alpha = alpha, target = target)
  m   <- run_detmrcd(detmrcd_cap, X, alpha, target)
  mt  <- run_detmrcd(detmrcd_tight, X, alpha, target)
  ## the instrumented copy must reproduce the public function exactly
  stopifnot(identical(unname(fit@cov), unname(m$initcovariance)),
            identical(unname(fit@center), as.numeric(m$initmean)),
            identical(as.integer(fit@best), as.integer(sort(m$best))),
            identical(fit@rho, m$rho), identical(fit@crit, m$mcdestimate))
  p <- ncol(X); n <- nrow(X); h <- fit@quan
  stopifnot(h == ceiling(alpha * n),
            all.equal(fit@cnp2, robustbase:::.MCDcons(p, h / n)))

  mat_or_summary <- function(M, keep = full_matrices) if (keep) unname(M) else NA
  rec <- list(
    alpha = alpha, target = target, maxcond = 50, maxcsteps = 200L,
    quan = h, n.obs = n,
    call = paste(deparse(fit@call), collapse = " "),
    method = fit@method,
    center = I(unname(fit@center)),
    cov = mat_or_summary(fit@cov),
    icov = mat_or_summary(fit@icov, full_matrices && extra_matrices),
    cov_diag = I(unname(diag(fit@cov))),
    crit = fit@crit,
    logdet_cov = as.numeric(determinant(fit@cov)$modulus),
    best = I(as.integer(fit@best)),
    rho = fit@rho,
    ## identity target: T = diag(standardization_scale^2), stored as diagonal only
    target_matrix = mat_or_summary(fit@target, full_matrices && target != "identity"),
    target_matrix_diag = I(unname(diag(fit@target))),
    c_alpha = fit@cnp2,
    mah = I(unname(fit@mah)),
    iBest = I(as.integer(m$iBest)),
    n.csteps = I(as.integer(m$n.csteps)),
    initHsets = t(m$initHsets),                 # 6 rows, each an initial h-subset
    standardization_center = I(unname(m$vmx)),  # column medians
    standardization_scale = I(unname(m$vsd)),   # column Qn (robustbase::Qn), floored at 1e-3
    rho6pack = I(m$rho6pack),
    cutoffrho = m$cutoffrho,
    tight_tol = list(
      uniroot_tol = 1e-12,
      rho6pack = I(mt$rho6pack), cutoffrho = mt$cutoffrho, rho = mt$rho,
      best = I(as.integer(sort(mt$best))),
      center = I(as.numeric(mt$initmean)),
      cov = mat_or_summary(mt$initcovariance, full_matrices && extra_matrices),
      cov_diag = I(unname(diag(mt$initcovariance))),
      crit = mt$mcdestimate,
      iBest = I(as.integer(mt$iBest)))
  )
  rec
}

## ---------------------------------------------------------------------------
## data sets
## ---------------------------------------------------------------------------
data(octane, package = "rrcov")
data(hbk, wood, package = "robustbase")

## synthetic p > n: n = 30, p = 50, AR(1) correlation 0.7^|i-j|, rows 28:30
## shifted by +3 in the first 10 coordinates
set.seed(20240612)
syn_n <- 30; syn_p <- 50
Sigma <- 0.7^abs(outer(1:syn_p, 1:syn_p, "-"))
syn <- matrix(rnorm(syn_n * syn_p), syn_n, syn_p) %*% chol(Sigma)
syn[28:30, 1:10] <- syn[28:30, 1:10] + 3
colnames(syn) <- paste0("V", 1:syn_p)

oct <- as.matrix(octane[, -1])          # drop the response y
oct_sub <- oct[, seq(1, ncol(oct), by = 3)]

sets <- list(
  synthetic_p50 = list(X = syn, full = TRUE, equi = TRUE,
    source = paste("synthetic: set.seed(20240612); X = matrix(rnorm(30*50), 30, 50) %*% chol(Sigma),",
                   "Sigma[i,j] = 0.7^|i-j|; X[28:30, 1:10] += 3")),
  octane_sub = list(X = oct_sub, full = TRUE, equi = TRUE,
    source = "rrcov::octane without y, columns seq(1, 226, by = 3) (76 wavelengths)"),
  octane = list(X = oct, full = FALSE, equi = FALSE,
    source = "rrcov::octane without y (226 wavelengths); matrices omitted for size"),
  hbk_x = list(X = data.matrix(hbk[, 1:3]), full = TRUE, equi = FALSE,
    source = "robustbase::hbk, columns X1..X3"),
  wood_x = list(X = data.matrix(wood[, 1:5]), full = TRUE, equi = FALSE,
    source = "robustbase::wood, columns x1..x5")
)

ctrl <- CovControlMrcd()
for (nm in names(sets)) {
  X <- sets[[nm]]$X; storage.mode(X) <- "double"
  full <- sets[[nm]]$full; extra <- ncol(X) <= 50
  fits <- list(mrcd_record(X, 0.5, "identity", full, extra),
               mrcd_record(X, 0.75, "identity", full, extra))
  if (sets[[nm]]$equi)
    fits[[3]] <- mrcd_record(X, 0.75, "equicorrelation", full, extra)
  res <- list(
    `_meta` = c(meta("mrcd.R"), list(
      CovMrcd_slotNames = I(slotNames("CovMrcd")),
      CovControlMrcd_defaults = list(alpha = ctrl@alpha, maxcsteps = ctrl@maxcsteps,
                                     target = ctrl@target, maxcond = ctrl@maxcond))),
    name = nm, source = sets[[nm]]$source,
    n = nrow(X), p = ncol(X),
    columns = I(colnames(X)),
    rownames = I(if (is.null(rownames(X))) as.character(seq_len(nrow(X))) else rownames(X)),
    full_matrices_stored = sets[[nm]]$full,
    X = unname(X),
    fits = fits
  )
  write_fixture(res, paste0("mrcd_", nm, ".json"))
}
