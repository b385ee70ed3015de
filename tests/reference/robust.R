## robust.R -- reference values for the robust covariance estimators of rrcov
## other than (Det/Fast)MCD and MRCD: OGK, S (sfast, bisquare, rocke, surreal),
## MM, MVE and Stahel-Donoho, plus the univariate robust scales of robustbase
## (Qn, Sn, scaleTau2, mad).  See ROBUST_NOTES.md for the algorithms.
##
## Run from the repository root:   Rscript tests/reference/robust.R
## Outputs (tests/reference/data/):
##   robust_<name>.json   one file per data set (14 with p < n, all estimators;
##                        octane_sub and octane, p > n, OGK only)
##   robust_scales.json   Qn / Sn / scaleTau2 / mad for every column of every
##                        data set and for small edge cases
##
## Internals are captured in three ways, and every way is checked here:
##  * OGK (C code covOPW, not printable): an R re-implementation written from
##    the C source, checked against CovOgk() to a relative 1e-10 (1e-8 when
##    p > n; the only differences are summation order and the LAPACK eigen
##    routine).  For p > n the R code path of CovOgk is used instead of the C
##    code, which overruns a work buffer when p > n (see ROBUST_NOTES.md).
##  * bisquare / rocke S, MM: copies of rrcov's internal R functions whose
##    deparsed source is changed ONLY by inserted assignments into `.cap`;
##    the copy must reproduce the public result bit for bit (identical()).
##  * MVE / SDE: the same .C / .Fortran entry point called again with the
##    same RNG state (must give the identical subset / weights); for SDE an
##    R re-implementation of the Fortran direction sampler regenerates the
##    p-subsets and the outlyingness (checked to a relative 1e-10).
##
## Randomness: every random estimator is run right after set.seed(SEED)
## (SEED = 1, RNGkind defaults: Mersenne-Twister / Inversion / Rejection).
## OGK is deterministic.  Python will not reproduce R's random subsets; see
## ROBUST_NOTES.md for what to compare.

script_dir <- local({                   # this folder, wherever R is started
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  if (length(f)) dirname(normalizePath(f)) else if (dir.exists("tests/reference")) "tests/reference" else "."
})
source(file.path(script_dir, "_fixtures.R"))

SEED <- 1L

## ---------------------------------------------------------------------------
## small helpers
## ---------------------------------------------------------------------------
rel_diff <- function(a, b) {
  a <- as.numeric(a); b <- as.numeric(b)
  d <- max(abs(a - b)); s <- max(abs(b))
  if (s == 0) d else d / s
}
check_close <- function(a, b, tol, what) {
  r <- rel_diff(a, b)
  if (!(r <= tol)) stop(sprintf("%s: relative difference %g > %g", what, r, tol))
  r
}
## determinant-one shape matrix
shape_of <- function(S) S / det(S)^(1 / ncol(S))
## sign convention for eigenvectors: the entry of largest modulus is positive
signfix <- function(E) {
  for (j in seq_len(ncol(E))) {
    i <- which.max(abs(E[, j]))
    if (E[i, j] < 0) E[, j] <- -E[, j]
  }
  E
}

## exact-line patching of deparsed functions (as in mrcd.R, but a pattern
## must equal a whole trimmed line, so that substrings cannot match twice)

## ---------------------------------------------------------------------------
## data sets
## ---------------------------------------------------------------------------
data(hbk, wood, starsCYG, bushfire, milk, aircraft, salinity, delivery, coleman,
     phosphor, heart, pulpfiber, Animals2, package = "robustbase", envir = environment())
data(octane, package = "rrcov", envir = environment())
data(stackloss, package = "datasets", envir = environment())

oct <- dm(octane[, -1])
sets <- list(
  hbk_x        = list(X = dm(hbk[, 1:3]),       source = "robustbase::hbk, columns X1..X3"),
  wood_x       = list(X = dm(wood[, 1:5]),      source = "robustbase::wood, columns x1..x5"),
  stackloss    = list(X = dm(stackloss),        source = "datasets::stackloss, all 4 columns"),
  starsCYG     = list(X = dm(starsCYG),         source = "robustbase::starsCYG"),
  bushfire     = list(X = dm(bushfire),         source = "robustbase::bushfire"),
  milk         = list(X = dm(milk),             source = "robustbase::milk"),
  aircraft_x   = list(X = dm(aircraft[, 1:4]),  source = "robustbase::aircraft, columns X1..X4"),
  salinity_x   = list(X = dm(salinity[, 1:3]),  source = "robustbase::salinity, columns X1..X3"),
  delivery_x   = list(X = dm(delivery[, 1:2]),  source = "robustbase::delivery, columns n.prod, distance"),
  coleman_x    = list(X = dm(coleman[, 1:5]),   source = "robustbase::coleman, columns salaryP..motherLev"),
  phosphor     = list(X = dm(phosphor),         source = "robustbase::phosphor, all 3 columns"),
  heart        = list(X = dm(heart),            source = "robustbase::heart, all 3 columns"),
  pulpfiber_x  = list(X = dm(pulpfiber[, 1:4]), source = "robustbase::pulpfiber, columns X1..X4"),
  Animals2_log = list(X = dm(log(Animals2)),    source = "log(robustbase::Animals2), natural log of body and brain"),
  octane_sub   = list(X = oct[, seq(1, ncol(oct), by = 3)],
                      source = "rrcov::octane without y, columns seq(1, 226, by = 3) (76 wavelengths)"),
  octane       = list(X = oct,
                      source = "rrcov::octane without y (226 wavelengths); matrices omitted for size")
)

## ===========================================================================
## OGK
## ===========================================================================
## Re-implementation of rrcov's C function covOPW (src/covOPW.c, rrcov 1.7-2),
## which CovOgk() calls when control@mrob is NULL (the default).
ES2C <- 0.9247153921761315              # constant hard-coded in covOPW.c
ogk_scale_fun <- function(kind) switch(kind,
  ## C scaleTau2 of covOPW.c: sigma0 = raw MAD (no 1.4826), one step, E-constant ES2C
  scaleTau2 = function(M) {
    n <- nrow(M)
    med <- colMedians(M)
    A <- abs(sweep(M, 2L, med))
    s0 <- colMedians(A)
    w <- pmax(1 - sweep(A, 2L, 4.5 * s0, "/")^2, 0)^2
    mu <- colSums(M * w) / colSums(w)
    r <- pmin(sweep(sweep(M, 2L, mu), 2L, s0, "/")^2, 9)
    rbind(mu = mu, s = s0 * sqrt(colSums(r) / (n * ES2C)))
  },
  ## robustbase::scaleTau2(x, mu.too = TRUE): the R path (control@mrob = .mrobTau)
  scaleTau2_R = function(M) {
    apply(M, 2L, function(x) { r <- scaleTau2(x, mu.too = TRUE); c(mu = r[1], s = r[2]) })
  },
  ## C my_mad of covOPW.c: median and 1.4826 * median |x - median|
  s_mad = function(M) {
    med <- colMedians(M)
    rbind(mu = med, s = 1.4826 * colMedians(abs(sweep(M, 2L, med))))
  })

ogk_internal <- function(X, kind, niter = 2L, beta = 0.9) {
  sfun <- ogk_scale_fun(kind)
  n <- nrow(X); p <- ncol(X)
  Z <- X; its <- vector("list", niter); Aprod <- diag(p)
  for (k in seq_len(niter)) {
    ms <- sfun(Z); d <- ms["s", ]
    Z <- sweep(Z, 2L, 1 / d, "*")               # as dscal(1/d) in C and %*% diag(1/sigma) in R
    U <- diag(p)
    for (i in 2:p) {
      j <- seq_len(i - 1L)
      sp <- sfun(Z[, i] + Z[, j, drop = FALSE])["s", ]
      sm <- sfun(Z[, i] - Z[, j, drop = FALSE])["s", ]
      U[i, j] <- U[j, i] <- (sp^2 - sm^2) / 4
    }
    e <- eigen(U, symmetric = TRUE)
    E <- signfix(e$vectors)
    A <- d * E                                   # diag(d) %*% E
    Z <- Z %*% E
    Aprod <- Aprod %*% A
    its[[k]] <- list(scales = unname(d), locations = unname(ms["mu", ]), U = U,
                     eigenvalues = e$values, E = E, A = A)
  }
  ms <- sfun(Z); mz <- ms["mu", ]; gz <- ms["s", ]
  dist2 <- rowSums(sweep(sweep(Z, 2L, mz), 2L, gz, "/")^2)
  cov0 <- Aprod %*% diag(gz^2, p) %*% t(Aprod)
  center0 <- as.vector(Aprod %*% mz)
  md <- median(dist2)
  cdelta <- md / qchisq(0.5, p)
  cutoff <- qchisq(beta, p) * md / qchisq(0.5, p)
  wt <- as.numeric(dist2 < cutoff); sw <- sum(wt)
  wcenter <- colSums(X * wt) / sw
  Xc <- sqrt(wt) * sweep(X, 2L, wcenter)
  list(iterations = its, Z_location = unname(mz), Z_scale = unname(gz), dist2 = unname(dist2),
       A_product = Aprod, cov_uncorrected = cov0, center = center0, median_dist2 = md,
       cdelta = cdelta, raw.cov = cdelta * cov0, cutoff = cutoff, wt = wt,
       wcenter = wcenter, wcov = crossprod(Xc) / sw)
}

ogk_record <- function(X, kind, full = TRUE) {
  p <- ncol(X); n <- nrow(X)
  ctrl <- switch(kind,
    scaleTau2   = CovControlOgk(),
    s_mad       = CovControlOgk(smrob = "s_mad"),
    scaleTau2_R = CovControlOgk(mrob = get(".mrobTau", rr)))
  fit <- CovOgk(X, control = ctrl)
  m <- ogk_internal(X, kind)
  tol <- if (p < n) 1e-10 else 1e-8   # p > n: U has tiny eigenvalues, rounding is amplified
  diffs <- c(
    raw.cov    = check_close(m$raw.cov, fit@raw.cov, tol, "OGK raw.cov"),
    raw.center = check_close(m$center, fit@raw.center, tol, "OGK raw.center"),
    raw.mah    = check_close(m$dist2, fit@raw.mah, tol, "OGK raw.mah"),
    cov        = check_close(m$wcov, fit@cov, tol, "OGK cov"),
    center     = check_close(m$wcenter, fit@center, tol, "OGK center"))
  if (!identical(m$wt, as.numeric(fit@raw.wt))) stop("OGK weights differ")
  ## reweighting constants computed by CovOgk but NOT applied (see notes)
  sw <- sum(fit@raw.wt)
  cnp2_unused <- 1 / (pgamma(qchisq(sw / n, p) / 2, p / 2 + 1) / (sw / n))
  mah <- tryCatch(mahalanobis(X, fit@center, fit@cov), error = function(e) rep(NA_real_, n))
  ## C path versus R path (control@mrob = .mrobTau) on the same data
  rpath <- NA
  if (kind == "scaleTau2" && p < n)
    rpath <- rel_diff(CovOgk(X, control = CovControlOgk(mrob = get(".mrobTau", rr)))@raw.cov, fit@raw.cov)
  ## full = TRUE: every matrix; "some" (p > n, p <= 100): cov, raw.cov and the
  ## U matrices only; FALSE: vectors only
  mat  <- function(M) if (isTRUE(full) || identical(full, "some")) um(M) else NA
  mat2 <- function(M) if (isTRUE(full)) um(M) else NA
  its <- lapply(m$iterations, function(it) list(
    scales = uv(it$scales), locations_unused = uv(it$locations),
    U = mat(it$U), eigenvalues = uv(it$eigenvalues),
    E = mat2(it$E), A = mat2(it$A)))
  list(
    kind = kind,
    call = paste(deparse(fit@call), collapse = " "),
    control = list(niter = 2L, beta = 0.9,
                   mrob = if (kind == "scaleTau2_R") "rrcov:::.mrobTau (robustbase::scaleTau2(x, mu.too = TRUE))" else NA,
                   smrob = if (kind == "scaleTau2_R") NA else ctrl@smrob,
                   svrob = if (kind == "scaleTau2_R") ".vrobGK" else ctrl@svrob),
    code_path = if (kind == "scaleTau2_R") "R (metodo2 in CovOgk)" else "C (covOPW)",
    center = uv(fit@center), cov = mat(fit@cov), cov_diag = uv(diag(fit@cov)),
    raw.center = uv(fit@raw.center), raw.cov = mat(fit@raw.cov), raw.cov_diag = uv(diag(fit@raw.cov)),
    raw.mah = uv(fit@raw.mah), raw.wt = uv(fit@raw.wt), sum_raw_wt = sw,
    mah = uv(mah),
    flag = if (anyNA(mah)) NA else I(mah < qchisq(0.975, p)),
    iterations = its,
    Z_location = uv(m$Z_location), Z_scale = uv(m$Z_scale),
    A_product = mat2(m$A_product),
    raw.cov_uncorrected = mat2(m$cov_uncorrected),
    median_raw.mah = m$median_dist2, cdelta = m$cdelta,
    reweight_cutoff = m$cutoff, beta = 0.9,
    cnp2_computed_not_applied = cnp2_unused,
    check_max_rel_diff_vs_CovOgk = as.list(diffs),
    C_vs_Rpath_max_rel_diff_raw.cov = rpath)
}

## ===========================================================================
## S estimators
## ===========================================================================
rho_bw <- function(u, cc) { v <- pmin(u^2, cc^2); v / 2 * (1 - v / cc^2 + v^2 / (3 * cc^4)) }
w_bw   <- function(u, cc) pmax(0, 1 - (u / cc)^2)^2
## M-scale of d: mean(rho(d/s)) = kp, iterated to machine precision
mscale <- function(d, cc, kp, s = median(abs(d)) / 0.6745) {
  for (i in 1:10000) {
    s2 <- sqrt(s^2 * mean(rho_bw(d / s, cc)) / kp)
    if (abs(s2 / s - 1) <= 1e-15) { s <- s2; break }
    s <- s2
  }
  s
}
## S fixed-point iteration (same update as rrcov's refine_s) run to convergence
s_polish <- function(X, mu, Sigma, cc, kp, maxit = 5000L) {
  p <- ncol(X); Sigma <- shape_of(Sigma); s <- NA
  for (it in 1:maxit) {
    d <- sqrt(mahalanobis(X, mu, Sigma))
    s <- mscale(d, cc, kp, if (is.na(s)) median(d) / 0.6745 else s)
    w <- w_bw(d / s, cc)
    mu1 <- colSums(w * X) / sum(w)
    Xc <- sweep(X, 2L, mu1)
    S1 <- shape_of(crossprod(Xc * sqrt(w)))
    done <- max(abs(mu1 - mu)) <= 1e-13 * max(1, max(abs(mu))) && max(abs(S1 - Sigma)) <= 1e-13 * max(abs(Sigma))
    mu <- mu1; Sigma <- S1
    if (done) break
  }
  d <- sqrt(mahalanobis(X, mu, Sigma))
  s <- mscale(d, cc, kp, s)
  list(center = mu, shape = Sigma, scale = s, cov = s^2 * Sigma, iter = it)
}
## derived quantities for an S estimate with Tukey-biweight rho (sfast / surreal)
s_biweight_derived <- function(X, fit) {
  cc <- fit@cc; kp <- fit@kp; p <- ncol(X)
  Sigma <- shape_of(fit@cov)
  dshape <- sqrt(mahalanobis(X, fit@center, Sigma))
  s_exact <- mscale(dshape, cc, kp, fit@crit)
  d <- sqrt(mahalanobis(X, fit@center, fit@cov))     # = dshape / crit if det(cov) = crit^(2p)
  pol <- s_polish(X, fit@center, fit@cov, cc, kp)
  list(
    shape = um(Sigma),
    det_cov = det(fit@cov),
    crit_2p = fit@crit^(2 * p),
    distances_shape = uv(dshape),
    weights = uv(w_bw(d, cc)),
    mean_rho_at_crit = mean(rho_bw(dshape / fit@crit, cc)),
    Mscale_of_final_estimate = s_exact,
    Mscale_rel_diff_to_crit = s_exact / fit@crit - 1,
    polished = list(center = uv(pol$center), cov = um(pol$cov), scale = pol$scale,
                    iterations = pol$iter,
                    rel_diff_center = rel_diff(pol$center, fit@center),
                    rel_diff_cov = rel_diff(pol$cov, fit@cov),
                    scale_rel_diff_to_crit = pol$scale / fit@crit - 1))
}

## --- instrumented copies of the bisquare / Rocke internals ------------------
## ..covSBic and ..covSRocke: capture the start and the result of the iteration
mk_s_start <- function(name, iter_call) {
  mk(patch_line(src_of(name), iter_call,
    paste0(iter_call, "; ",
           "assign('mu', mu, envir = ", CAP, "); assign('devin', devin, envir = ", CAP, "); ",
           "assign('t0', t0, envir = ", CAP, "); assign('S0', S0, envir = ", CAP, "); ",
           "assign('init', init, envir = ", CAP, "); assign('out', out, envir = ", CAP, ")")))
}
## .iter.bic and .iter.rocke: the trace of the scale (bisquare) or of sigma (Rocke)
mk_iter_bic <- function() mk(patch_line(src_of(".iter.bic"), c("s0 <- scale.full(mah, b, cc)", "s0 <- s"),
  c(paste0("s0 <- scale.full(mah, b, cc); assign('s_trace', s0, envir = ", CAP, ")"),
    paste0("s0 <- s; assign('s_trace', c(", CAP, "$s_trace, s), envir = ", CAP, ")"))))
mk_iter_rocke <- function() mk(patch_line(src_of(".iter.rocke"), c("it <- 1", "it <- it + 1"),
  c(paste0("it <- 1; assign('sig_trace', sigmin, envir = ", CAP, ")"),
    paste0("it <- it + 1; assign('sig_trace', c(", CAP, "$sig_trace, sigmin), envir = ", CAP, ")"))))
assign("..covSBic", mk_s_start("..covSBic",
  "out <- .iter.bic(x, center, cov, maxiter, eps, trace = trace)"), envir = capenv)
assign(".iter.bic", mk_iter_bic(), envir = capenv)
assign("..covSRocke", mk_s_start("..covSRocke",
  "out <- .iter.rocke(x, center, cov, maxiter, eps, alpha = arp, trace = trace)"), envir = capenv)
assign(".iter.rocke", mk_iter_rocke(), envir = capenv)
## run the instrumented ..covSBic or ..covSRocke under SEED: it must reproduce the public fit;
## the captured result of its iteration
run_s_copy <- function(name, X, fit) {
  cap_reset(); set.seed(SEED)
  out <- get(name, capenv)(X, arp = 0.1, eps = 1e-5, maxiter = 120, nsamp = 500, seed = NULL)
  stopifnot(identical(unname(out$center), unname(fit@center)),
            identical(unname(out$cov), unname(fit@cov)), identical(out$crit, fit@crit))
  .cap$out
}
## the standardisation and the MVE start that run_s_copy captured
s_start_internals <- function() list(
  standardization_center = uv(.cap$mu), standardization_scale = uv(.cap$devin),
  start_center = uv(.cap$t0), start_shape = um(.cap$S0),
  start_MVE_raw.center = uv(.cap$init@raw.center), start_MVE_raw.cov = um(.cap$init@raw.cov),
  start_MVE_best = I(as.integer(.cap$init@best)))
tightenv <- new.env(parent = rr)
assign(".iter.rocke", mk(src_of(".iter.rocke") |> patch_sub(
  "sig.res <- uniroot(fespro, lower = a, upper = b, fp = p, fdis = dis, falpha = alpha, fdelta = delta)",
  "sig.res <- uniroot(fespro, lower = a, upper = b, fp = p, fdis = dis, falpha = alpha, fdelta = delta, tol = 1e-13, maxiter = 10000)"),
  tightenv), envir = tightenv)
iter_rocke_tight <- get(".iter.rocke", tightenv)

sest_common <- function(X, fit, method, seed, warnings) {
  p <- ncol(X)
  mah <- mahalanobis(X, fit@center, fit@cov)
  list(method = method, method_string = fit@method, seed = seed,
       call = paste(deparse(fit@call), collapse = " "),
       bdp = 0.5, arp = 0.1, eps = 1e-5, maxiter = 120L,
       nsamp = if (method == "surreal") 600L * p else 500L,
       center = uv(fit@center), cov = um(fit@cov), crit = fit@crit,
       iter = fit@iter, cc = fit@cc, kp = fit@kp,
       mah = uv(mah), flag = I(mah < qchisq(0.975, p)),
       logdet_cov = as.numeric(determinant(fit@cov)$modulus),
       warnings = I(warnings))
}

sest_record <- function(X, method) {
  n <- nrow(X); p <- ncol(X)
  set.seed(SEED)
  q <- quiet(CovSest(X, method = method))
  fit <- q$value
  rec <- sest_common(X, fit, method, SEED, q$warnings)
  if (method %in% c("sfast", "surreal")) {
    cs <- get(".csolve.bw.S", rr)(0.5, p)
    stopifnot(identical(cs$cc, fit@cc), identical(cs$kp, fit@kp))
    rec$crit_meaning <- "S-scale s: cov = s^2 * Sigma with det(Sigma) = 1; mean(rho(d/s)) = kp"
    rec$derived <- s_biweight_derived(X, fit)
  } else if (method == "bisquare") {
    o <- run_s_copy("..covSBic", X, fit)
    rec$crit_meaning <- "det(cov) (not log, not a scale)"
    rec$internals <- c(s_start_internals(), list(
      final_std_center = uv(o$center), final_std_shape = um(o$cov),
      final_std_distances = uv(o$mah), iterations = o$iter,
      scale_trace = uv(.cap$s_trace),
      median_sq_distance = median(o$mah^2), qchisq_0.5 = qchisq(0.5, p),
      cc = o$cc, b = o$kp))
  } else if (method == "rocke") {
    o <- run_s_copy("..covSRocke", X, fit)
    ## same iteration from the same start, uniroot(tol = 1e-13)
    Xs <- scale(X, center = .cap$mu, scale = .cap$devin)
    ot <- iter_rocke_tight(Xs, .cap$t0, .cap$S0, 120, 1e-5, alpha = 0.1, trace = FALSE)
    fin <- function(oo) {
      med0 <- median(oo$mah); D <- diag(.cap$devin)
      list(center = as.vector(D %*% oo$center + .cap$mu),
           cov = D %*% ((med0 / qchisq(0.5, p)) * oo$cov) %*% D)
    }
    ft <- fin(ot)
    stopifnot(identical(unname(fin(o)$cov), unname(fit@cov)))
    alpha <- 0.1; g <- min(qchisq(1 - alpha, p) / p - 1, 1)
    rec$crit_meaning <- "det(cov) (not log, not a scale)"
    rec$internals <- c(list(arp = alpha, gamma = g, delta = 0.5 * (1 - p / n)),
      s_start_internals(), list(
      final_std_center = uv(o$center), final_std_shape = um(o$cov),
      final_std_sq_distances = uv(o$mah), final_scale_sigma = o$scale,
      iterations = o$iter, sigma_trace = uv(.cap$sig_trace),
      median_sq_distance = median(o$mah), qchisq_0.5 = qchisq(0.5, p),
      tight_tol = list(uniroot_tol = 1e-13, center = uv(ft$center), cov = um(ft$cov),
                       final_scale_sigma = ot$scale, iterations = ot$iter,
                       rel_diff_center = rel_diff(ft$center, fit@center),
                       rel_diff_cov = rel_diff(ft$cov, fit@cov))))
  }
  rec
}

## ===========================================================================
## MM
## ===========================================================================
mk_mm <- function() {
  s <- src_of("CovMMest")
  s <- patch_line(s, "keep <- ocrit <- crit <- loss(rdis, scale, c1)",
    paste0("keep <- ocrit <- crit <- loss(rdis, scale, c1); assign('keep', keep, envir = ", CAP,
           "); assign('crit_trace', numeric(0), envir = ", CAP, ")"))
  s <- patch_line(s, "crit <- loss(rdis, scale, c1)",
    paste0("crit <- loss(rdis, scale, c1); assign('crit_trace', c(", CAP, "$crit_trace, crit), envir = ", CAP, ")"))
  s <- patch_line(s, "cova <- cova * scale^2",
    paste0("cova <- cova * scale^2; assign('mm_center', center, envir = ", CAP,
           "); assign('mm_cov', cova, envir = ", CAP, "); assign('final_crit', crit, envir = ", CAP, ")"))
  mk(s, rr)
}
CovMMest_cap <- mk_mm()

mm_record <- function(X) {
  p <- ncol(X)
  set.seed(SEED); q <- quiet(CovMMest(X)); fit <- q$value
  cap_reset(); set.seed(SEED); fc <- suppressWarnings(CovMMest_cap(X))
  stopifnot(identical(unname(fc@center), unname(fit@center)), identical(unname(fc@cov), unname(fit@cov)))
  ss <- fit@sest
  c1 <- get(".csolve.bw.MM", rr)(p, 0.95, eff.shape = TRUE)
  stopifnot(identical(c1, fit@c1))
  reverted <- .cap$final_crit > .cap$keep
  mah <- mahalanobis(X, fit@center, fit@cov)
  d <- sqrt(mahalanobis(X, fit@center, shape_of(fit@cov))) / ss@crit
  list(seed = SEED, call = paste(deparse(fit@call), collapse = " "),
       bdp = 0.5, eff = 0.95, eff.shape = TRUE, maxiter = 50L, tolSolve = 1e-7,
       c1 = fit@c1,
       S_start = list(method = "sfast", center = uv(ss@center), cov = um(ss@cov),
                      scale = ss@crit, shape = um(getShape(ss)), cc = ss@cc, kp = ss@kp),
       center = uv(fit@center), cov = um(fit@cov), crit = fit@crit,
       crit_meaning = "the S-scale of the start (CovMMest stores ss@crit)",
       iter = fit@iter,
       loss_start = .cap$keep, loss_trace = uv(.cap$crit_trace), loss_final = .cap$final_crit,
       reverted_to_S = reverted,
       weights = uv(w_bw(d, fit@c1)),
       mah = uv(mah), flag = I(mah < qchisq(0.975, p)),
       warnings = I(q$warnings))
}

## ===========================================================================
## MVE
## ===========================================================================
mve_record <- function(X) {
  n <- nrow(X); p <- ncol(X)
  set.seed(SEED); q <- quiet(CovMve(X)); fit <- q$value
  h <- h.alpha.n(0.5, n, p)
  set.seed(SEED); fm <- get(".fastmve", rr)(X, h, 500)
  stopifnot(identical(as.integer(fm$best), as.integer(fit@best)), identical(fm$scale, fit@crit))
  best <- as.integer(fit@best)
  mH <- colMeans(X[best, , drop = FALSE]); SH <- cov(X[best, , drop = FALSE])
  mah0 <- mahalanobis(X, mH, SH)
  crit_re <- median(mah0) * det(SH)^(1 / p)
  calpha <- quantile(mah0, h / n, names = FALSE) / qchisq(h / n, p)
  check_close(crit_re, fit@crit, 1e-12, "MVE crit")
  check_close(calpha, fit@raw.cnp2[1], 1e-12, "MVE calpha")
  check_close(calpha * SH, fit@raw.cov, 1e-12, "MVE raw.cov")
  list(seed = SEED, call = paste(deparse(fit@call), collapse = " "),
       alpha = fit@alpha, quan = fit@quan, nsamp = 500L, n_singular_subsamples = fm$nsing,
       center = uv(fit@center), cov = um(fit@cov),
       raw.center = uv(fit@raw.center), raw.cov = um(fit@raw.cov),
       crit = fit@crit,
       crit_meaning = "median_i d2_i(mean_H, cov_H) * det(cov_H)^(1/p), cov_H = cov(X[best, ]) (divisor h-1)",
       best = I(sort(best)),
       best_cov_uncorrected = um(SH), raw.mah_uncorrected = uv(mah0),
       raw.cnp2 = uv(fit@raw.cnp2), cnp2 = uv(fit@cnp2),
       raw.mah = uv(fit@raw.mah), raw.wt = uv(fit@raw.wt), sum_raw_wt = sum(fit@raw.wt),
       mah = uv(fit@mah), wt = uv(fit@wt),
       chisq_cutoff = qchisq(0.975, p),
       fastmve_C_center = uv(fm$center), fastmve_C_cov = um(fm$cov),
       warnings = I(q$warnings))
}

## ===========================================================================
## Stahel-Donoho (rlds in src/ds11.f)
## ===========================================================================
rlquntbi <- function(p) {          # Abramowitz & Stegun 26.2.23, as in ds11.f
  cc <- c(2.515517, 0.802853, 0.010328, 1.432788, 0.189269, 0.001308)
  p1 <- if (p > 0.5) 1 - p else p
  t <- sqrt(-2 * log(p1))
  x <- t - ((cc[3] * t + cc[2]) * t + cc[1]) / (((cc[6] * t + cc[5]) * t + cc[4]) * t + 1)
  if (p < 0.5) -x else x
}
rlrwetml <- function(x) {
  ax <- abs(x)
  cf <- c(-19.7187928669416, 82.3045267489739, -105.4526748971229, 42.8669410150906)
  ifelse(ax >= 1, 0, ifelse(ax <= 0.8, 1, cf[1] + cf[2] * ax^2 + cf[3] * ax^4 + cf[4] * ax^6))
}
## The arithmetic below follows ds11.f operation by operation (sequential
## double-precision sums, no BLAS, no long double), so that the outlyingness
## agrees with the Fortran bit for bit where possible: for badly scaled data
## (aircraft_x: columns of order 1 and 1e4) the directions are ill-conditioned
## and any other summation order changes z in the 8th digit.
sum_seq <- function(v) { s <- 0; for (x in v) s <- s + x; s }
sde_direction <- function(P) {      # P: p x p, column k = k-th sampled point
  p <- ncol(P)
  if (p == 1) return(list(ok = TRUE, a = 1))
  for (k in 1:(p - 1)) P[, k] <- P[, k] - P[, p]
  m <- p - 1
  V <- P[, 1:m, drop = FALSE]
  nrm <- function(v) sqrt(sum_seq(v * v))
  for (j in 1:m) { dn <- nrm(V[, j]); if (dn <= 1e-15) return(list(ok = FALSE)); V[, j] <- V[, j] / dn }
  if (m > 1) for (j in 1:(m - 1)) {
    dn <- nrm(V[, j]); if (dn <= 1e-8) return(list(ok = FALSE)); V[, j] <- V[, j] / dn
    for (k in (j + 1):m) V[, k] <- V[, k] - V[, j] * sum_seq(V[, j] * V[, k])
  }
  dn <- nrm(V[, m]); if (dn <= 1e-15) return(list(ok = FALSE)); V[, m] <- V[, m] / dn
  tol <- 1 / sqrt(p)
  for (k in 1:p) {
    dire <- numeric(p)
    for (j in 1:m) dire <- dire - V[, j] * V[k, j]
    dire[k] <- dire[k] + 1
    dn <- nrm(dire)
    if (dn >= tol) break
  }
  list(ok = TRUE, a = dire / dn)
}
sde_replicate <- function(X, nsamp, maxres, tune) {
  n <- nrow(X); p <- ncol(X)
  k1 <- (p - 1) + (n + 1) %/% 2; k2 <- (p - 1) + (n + 2) %/% 2
  cc <- rlquntbi((1 + k1 / n) / 2)
  z <- rep(-1, n); nres <- 0L; k <- 0L
  subsets <- matrix(0L, nsamp, p)
  while (k < maxres && nres < nsamp) {
    k <- k + 1L
    ind <- integer(p)
    ind[1] <- as.integer(n * runif(1) + 1)
    if (p > 1) for (j in 2:p) repeat {
      ind[j] <- as.integer(n * runif(1) + 1)
      if (!any(ind[1:(j - 1)] == ind[j])) break
    }
    dr <- sde_direction(t(X[ind, , drop = FALSE]))
    if (!dr$ok) next
    nres <- nres + 1L; subsets[nres, ] <- ind
    b <- numeric(n)
    for (j in 1:p) b <- b + X[, j] * dr$a[j]
    bs <- sort(b); i2 <- n %/% 2
    bmed <- if (2 * i2 >= n) (bs[i2 + 1] + bs[i2]) / 2 else bs[i2 + 1]
    w <- abs(b - bmed); ww <- sum_seq(w) / n
    if (ww >= 1e-15) {
      ws <- sort(w); bmad <- (ws[k1] + ws[k2]) / 2 / cc
      if (bmad >= 1e-8 * ww) z <- pmax(z, abs(b - bmed) / bmad)
      else z[abs(b - bmed) > 100 * bmad] <- 1e15
    }
  }
  list(z = z, w = rlrwetml(z / tune), subsets = subsets[seq_len(nres), , drop = FALSE],
       attempts = k, k1 = k1, k2 = k2, cc = cc)
}

sde_record <- function(X) {
  n <- nrow(X); p <- ncol(X)
  set.seed(SEED); q <- quiet(CovSde(X)); fit <- q$value
  nsamp <- max(1000, ceiling(log(1 - 0.99) / log(1 - (1 - 0.5)^(p + 1))))
  maxres <- 2 * nsamp
  tune <- sqrt(qchisq(0.95, p))
  set.seed(SEED)
  sd <- .Fortran("rlds", n = as.integer(n), p = as.integer(p), nsamp = as.integer(nsamp),
                 x = as.double(X), tune = as.double(tune), wk = double(4 * n + p),
                 center = double(p), cov = matrix(0, p, p), maxres = as.integer(maxres),
                 nresper = 0L, weights = double(n), outlyingness = double(n), icent = 1L,
                 iwork = integer(4 * n + p), PACKAGE = "rrcov")
  stopifnot(identical(sd$weights, as.numeric(fit@wt)), identical(sd$nresper, as.integer(fit@iter)))
  mah0 <- mahalanobis(X, sd$center, sd$cov)
  cons <- median(mah0) / qchisq(0.5, p)
  stopifnot(identical(unname(sd$cov * cons), unname(fit@cov)), identical(sd$center, unname(fit@center)))
  set.seed(SEED); rp <- sde_replicate(X, nsamp, maxres, tune)
  check_close(rp$z, sd$outlyingness, 1e-10, "SDE outlyingness")
  stopifnot(nrow(rp$subsets) == sd$nresper)
  check_close(rp$w, sd$weights, 1e-10, "SDE weights")
  list(seed = SEED, call = paste(deparse(fit@call), collapse = " "),
       nsamp = nsamp, maxres = maxres, eps = 0.5, prob = 0.99,
       tune_prob = 0.95, tune = tune,
       nresper = sd$nresper, attempts = rp$attempts,
       mad_order_statistics = I(c(rp$k1, rp$k2)), mad_constant_cc = rp$cc,
       outlyingness = uv(sd$outlyingness),
       weights = uv(sd$weights),
       center = uv(fit@center), cov = um(fit@cov),
       raw.cov = um(sd$cov),
       consistency_factor = cons,
       mah = uv(fit@mah), flag = I(fit@mah < qchisq(0.975, p)),
       subsets = rp$subsets,
       check_rel_diff_outlyingness_R_replicate = rel_diff(rp$z, sd$outlyingness),
       warnings = I(q$warnings))
}

## ===========================================================================
## univariate scales
## ===========================================================================
Qn_raw_exact <- function(x) {       # k-th order statistic of |x_i - x_j|, i < j
  n <- length(x); h <- n %/% 2 + 1; k <- choose(h, 2)
  sort(abs(outer(x, x, "-"))[lower.tri(diag(n))])[k]
}
Sn_raw_exact <- function(x) {       # lomed_i himed_j |x_i - x_j| (j over all n)
  n <- length(x)
  a <- vapply(seq_len(n), function(i) sort(abs(x[i] - x))[n %/% 2 + 1], 0)
  sort(a)[(n + 1) %/% 2]
}
scale_record <- function(x) {
  n <- length(x)
  qraw <- Qn(x, constant = 1, finite.corr = FALSE)
  qex <- Qn_raw_exact(x)
  qfac <- if (n <= 12) c(.399356, .99365, .51321, .84401, .61220, .85877, .66993,
                          .87344, .72014, .88906, .75743)[n - 1L]
          else 1 / get("Qn.finite.c", asNamespace("robustbase"))(n)
  sraw <- Sn(x, constant = 1, finite.corr = FALSE)
  sfac <- if (n <= 9) c(0.743, 1.851, 0.954, 1.351, 0.993, 1.198, 1.005, 1.131)[n - 1L]
          else if (n %% 2) n / (n - 0.9) else 1
  stopifnot(identical(sraw, Sn_raw_exact(x)))
  st <- scaleTau2(x, mu.too = TRUE)
  list(n = n, x = uv(x),
       Qn = Qn(x), Qn_raw = qraw, Qn_raw_exact_kth = qex,
       Qn_raw_is_float32_rounded = !identical(qraw, qex),
       Qn_k = choose(n %/% 2 + 1, 2), Qn_constant = 2.21914, Qn_finite_factor = qfac,
       Qn_no_finite_corr = Qn(x, finite.corr = FALSE),
       Sn = Sn(x), Sn_raw = sraw, Sn_constant = 1.1926, Sn_finite_factor = sfac,
       Sn_no_finite_corr = Sn(x, finite.corr = FALSE),
       scaleTau2 = scaleTau2(x),
       scaleTau2_mu = st[1],
       scaleTau2_finiteSample = scaleTau2(x, consistency = "finiteSample"),
       scaleTau2_no_consistency = scaleTau2(x, consistency = FALSE),
       scaleTau2_iter_converged = scaleTau2(x, iter = TRUE),
       mad = mad(x), median = median(x))
}

## ===========================================================================
## run
## ===========================================================================
ctrl_ogk <- CovControlOgk()
for (nm in names(sets)) {
  X <- sets[[nm]]$X
  n <- nrow(X); p <- ncol(X)
  pgtn <- p >= n
  full <- if (p < n) TRUE else if (p <= 100) "some" else FALSE
  cat(nm, n, "x", p, "\n")
  res <- list(
    `_meta` = c(meta("robust.R"), list(
      RNGkind = I(RNGkind()), seed = SEED,
      note = if (pgtn) "p > n: only OGK, through the R code path (the C path covOPW overruns a work buffer when p > n)" else NA)),
    name = nm, source = sets[[nm]]$source, n = n, p = p,
    columns = I(colnames(X)),
    rownames = I(if (is.null(rownames(X))) as.character(seq_len(n)) else rownames(X)),
    full_matrices_stored = full,
    X = unname(X))
  if (pgtn) {
    res$ogk <- list(ogk_record(X, "scaleTau2_R", full))
  } else {
    res$ogk <- list(ogk_record(X, "scaleTau2"), ogk_record(X, "s_mad"))
    res$sest <- lapply(c("sfast", "bisquare", "rocke", "surreal"), function(m) sest_record(X, m))
    res$mmest <- mm_record(X)
    res$mve <- mve_record(X)
    res$sde <- sde_record(X)
  }
  write_fixture(res, paste0("robust_", nm, ".json"))
}

## --- robust_scales.json ------------------------------------------------------
edge <- list(
  n2 = c(1.5, -0.25),
  n3 = c(3.1, 0.4, 1.7),
  n4 = c(2.0, -1.3, 0.6, 5.5),
  n5 = c(0.3, 2.9, -1.1, 4.4, 1.0),
  n10 = c(9.81, 2.72, 3.14, 1.41, 1.73, 6.02, 0.58, 4.67, 2.24, 8.31),
  n11_odd = c(10, 12, 13, 15, 15.5, 16, 18, 21, 22, 30, 100),
  n12_even = c(10, 12, 13, 15, 15.5, 16, 18, 21, 22, 30, 100, 101),
  ties_int = c(1, 1, 1, 2, 2, 3, 5, 8, 8, 8),
  ties_half = c(4, 4, 4, 4, 4, 5, 6, 7, 8, 9, 10, 11),
  tenths = c(0.1, 0.2, 0.3, 0.3, 0.7, 0.8, 0.8, 1.1, 1.5, 2.6, 3.0, 9.9, 10.1),
  float32_n10 = c(10.1, 9.5, 10.7, 9.9, 10.3, 10.8, 10.5, 9.9, 9.7, 9.3),   # hbk$X1[1:10]
  float32_n12 = c(10.1, 9.5, 10.7, 9.9, 10.3, 10.8, 10.5, 9.9, 9.7, 9.3, 11, 12),
  constant = rep(3.7, 8),
  nearly_constant = c(rep(2, 7), 5),
  n101_normal = local({ set.seed(20240613); round(rnorm(101), 6) }),
  n1000_normal = local({ set.seed(20240614); rnorm(1000) })
)
scale_sets <- list()
for (nm in names(sets)) {
  X <- sets[[nm]]$X
  if (ncol(X) > 10) next                     # octane: skip the 302 spectral columns
  scale_sets[[length(scale_sets) + 1]] <- list(
    name = nm, source = sets[[nm]]$source, columns = I(colnames(X)),
    scales = lapply(seq_len(ncol(X)), function(j) c(list(column = colnames(X)[j]), scale_record(X[, j]))))
}
edge_recs <- lapply(names(edge), function(nm) c(list(name = nm), scale_record(edge[[nm]])))
write_fixture(list(
  `_meta` = c(meta("robust.R"), list(
    Qn_finite_c_source = paste(deparse(get("Qn.finite.c", asNamespace("robustbase"))), collapse = "\n"),
    Qn_source = paste(deparse(Qn), collapse = "\n"),
    Sn_source = paste(deparse(Sn), collapse = "\n"),
    scaleTau2_source = paste(deparse(scaleTau2), collapse = "\n"))),
  datasets = scale_sets,
  edge_cases = edge_recs), "robust_scales.json")
