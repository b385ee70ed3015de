## pca.R -- reference values for classical and robust (ROBPCA) principal
## components: rrcov::PcaClassic and rrcov::PcaHubert (Hubert, Rousseeuw and
## Vanden Branden 2005, Technometrics 47:64-79).  See ROBUST_NOTES.md.
##
## Run from the repository root:   Rscript tests/reference/pca.R
## Outputs (tests/reference/data/): pca_<name>.json for 10 data sets, among
## them octane (n = 39, p = 226 > n), olitos (p = 25) and bus (p = 18), which
## take ROBPCA's projection-pursuit branch, and the low-dimensional ones, which
## take its MCD branch (plus a forced projection fit, mcd = FALSE, for two).
##
## Fits per data set (see the README for the list):
##   PcaClassic(X, k = K)        PcaClassic(X, k = 0)    (k by rrcov's rule)
##   PcaHubert (X, k = K)        PcaHubert (X)           (k = 0, the default)
## with K = 2 (K = 1 for p = 2, K = 3 for p > 5).  Every PcaHubert call is
## preceded by set.seed(SEED): its CovMcd calls (FastMCD) are the only random
## part of ROBPCA in rrcov 1.7-2 (the projection directions come from a fixed
## linear congruential generator, not from R's RNG).
##
## Internals come from copies of rrcov:::PcaHubert.default and
## rrcov:::projectMCD whose deparsed source is changed ONLY by inserted
## assignments into `.cap`; the script checks that the copies reproduce
## PcaHubert() bit for bit under the same seed.

script_dir <- local({                   # this folder, wherever R is started
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  if (length(f)) dirname(normalizePath(f)) else if (dir.exists("tests/reference")) "tests/reference" else "."
})
source(file.path(script_dir, "_fixtures.R"))

SEED <- 1L

## ---------------------------------------------------------------------------
## instrumented copies
## ---------------------------------------------------------------------------
put <- function(...) {                  # "name" -> assign('name', name, envir = .cap)
  v <- c(...)
  paste(sprintf("assign('%s', %s, envir = %s)", v, v, CAP), collapse = "; ")
}

s <- src_of("PcaHubert.default")
s <- patch_line(s, "Xsvd <- .classPC(data, scale = scale, signflip = signflip, scores = TRUE)",
  paste0("Xsvd <- .classPC(data, scale = scale, signflip = signflip, scores = TRUE); ", put("Xsvd")))
s <- patch_line(s, "X.mcd.svd <- svd(getCov(X.mcd))",
  paste0("X.mcd.svd <- svd(getCov(X.mcd)); ", put("X.mcd", "X.mcd.svd", "h", "alpha", "kmax")))
s <- patch_line(s, "H0 <- order(outl)",
  paste0("H0 <- order(outl); ", put("outl", "H0", "h", "alpha", "kmax")))
s <- patch_line(s, "eig0 <- Xh.svd$eigenvalues",
  paste0("eig0 <- Xh.svd$eigenvalues; assign('Xh.svd0', Xh.svd, envir = ", CAP, ")"))
s <- patch_line(s, "indexset <- (odh <= cutoffodh)",
  paste0("indexset <- (odh <= cutoffodh); ", put("odh", "cutoffodh", "indexset")))
s <- patch_line(s, "X2 <- as.matrix(X2[, 1:k])",
  paste0("X2 <- as.matrix(X2[, 1:k]); assign('X2_init', X2, envir = ", CAP, "); ",
         "assign('Xh.svd1', Xh.svd, envir = ", CAP, "); ", put("k")))
s <- patch_line(s, "cl[[1]] <- as.name(\"PcaHubert\")",
  paste0("cl[[1]] <- as.name(\"PcaHubert\"); assign('k_final', k, envir = ", CAP, ")"))
PcaHubert_cap <- mk(s)

s <- src_of("projectMCD")
s <- patch_line(s, "X2mcd <- CovMcd(X2, nsamp = 250, alpha = alpha)",
  paste0("assign('X2_csteps', X2, envir = ", CAP, "); assign('csteps_iter', j, envir = ", CAP, "); ",
         "assign('csteps_obj', obj, envir = ", CAP, "); assign('csteps_mah', mah, envir = ", CAP, "); ",
         "assign('csteps_center', center, envir = ", CAP, "); assign('csteps_rot', rot, envir = ", CAP, "); ",
         "X2mcd <- CovMcd(X2, nsamp = 250, alpha = alpha); ", put("X2mcd")))
s <- patch_line(s, "ee <- eigen(X2cov)",
  paste0("ee <- eigen(X2cov); ", put("X2cov", "X2center", "ee"),
         "; assign('used_mcd', X2mcd@crit < obj + eps, envir = ", CAP, ")"))
assign("projectMCD", mk(s), envir = capenv)

## the directions used by outl(): pairs of observations (1-based), rebuilt
## from rrcov:::extradir's deterministic generator and checked against it
extradir_pairs <- function(n, ndirect, all) {
  if (all) { cc <- combn(n, 2); return(cbind(cc[1, ], cc[2, ])) }
  uniran <- function(seed) {
    seed <- floor(seed * 5761) + 999
    quot <- floor(seed / 65536)
    seed <- floor(seed) - floor(quot * 65536)
    list(seed = seed, random = seed / 65536)
  }
  out <- matrix(0L, ndirect, 2); seed <- 0
  for (r in seq_len(ndirect)) {
    u <- uniran(seed); seed <- u$seed; i <- floor(u$random * n) + 1
    repeat { u <- uniran(seed); seed <- u$seed; j <- floor(u$random * n) + 1; if (j != i) break }
    out[r, ] <- c(i, j)
  }
  out
}

## ---------------------------------------------------------------------------
## records
## ---------------------------------------------------------------------------
pca_common <- function(fit) {
  list(k = fit@k, rank = fit@rank,
       center = uv(fit@center), scale = uv(fit@scale),
       loadings = um(fit@loadings), eigenvalues = uv(fit@eigenvalues),
       scores = um(fit@scores),
       sd = uv(fit@sd), od = uv(fit@od),
       cutoff.sd = fit@cutoff.sd, cutoff.od = fit@cutoff.od,
       flag = I(as.logical(fit@flag)),
       eig0 = uv(fit@eig0), totvar0 = fit@totvar0,
       crit.pca.distances = fit@crit.pca.distances)
}

classic_record <- function(X, k) {
  q <- quiet(PcaClassic(X, k = k)); fit <- q$value
  c(list(estimator = "PcaClassic", call = paste(deparse(fit@call), collapse = " "),
         k_requested = k, kmax = ncol(X), scale_argument = FALSE, signflip = TRUE),
    pca_common(fit),
    list(od_cutoff_method = "classic", warnings = I(q$warnings)))
}

hubert_record <- function(X, k, args = list(), store_big = TRUE) {
  n <- nrow(X); p <- ncol(X)
  set.seed(SEED)
  q <- quiet(do.call(PcaHubert, c(list(X, k = k), args))); fit <- q$value
  rm(list = ls(.cap, all.names = TRUE), envir = .cap)
  set.seed(SEED)
  fc <- suppressWarnings(do.call(PcaHubert_cap, c(list(X, k = k), args)))
  for (sl in c("loadings", "eigenvalues", "center", "scores", "sd", "od", "flag", "cutoff.sd", "cutoff.od", "k", "quan"))
    if (!identical(unname(slot(fc, sl)), unname(slot(fit, sl)))) stop("PcaHubert copy differs in ", sl)
  C <- as.list(.cap)
  branch <- if (!is.null(C$X.mcd)) "MCD" else "projection"
  Xs <- C$Xsvd
  rec <- c(list(estimator = "PcaHubert", call = paste(deparse(fit@call), collapse = " "),
                k_requested = k,
                settings = list(alpha_argument = if (is.null(args$alpha)) "missing (default 0.75)" else args$alpha,
                                kmax = 10L, mcd = if (is.null(args$mcd)) TRUE else args$mcd,
                                skew = FALSE, maxdir = 250L, scale = FALSE, signflip = TRUE,
                                crit.pca.distances = 0.975, seed = SEED),
                branch = branch,
                alpha = fit@alpha, quan = fit@quan, h = C$h, kmax_used = C$kmax),
           pca_common(fit),
           list(od_cutoff_method = "medmad", warnings = I(q$warnings)))
  rec$initial_svd <- list(
    center = uv(Xs$center), rank = Xs$rank, eigenvalues = uv(Xs$eigenvalues),
    loadings = if (store_big) um(Xs$loadings) else NA,
    via = if (n > p) "svd of centred X" else "eigen of tcrossprod(centred X)")
  if (branch == "MCD") {
    m <- C$X.mcd
    rec$mcd <- list(
      note = "CovMcd(as.data.frame(scores), alpha = alpha) on the full-rank score matrix X = initial_svd scores",
      alpha = m@alpha, quan = m@quan, nsamp = 500L,
      center = uv(m@center), cov = um(m@cov), raw.center = uv(m@raw.center), raw.cov = um(m@raw.cov),
      crit = m@crit, best = ui(sort(m@best)),
      raw.cnp2 = uv(m@raw.cnp2), cnp2 = uv(m@cnp2),
      svd_d = uv(C$X.mcd.svd$d), svd_u = um(C$X.mcd.svd$u))
  } else {
    pairs <- extradir_pairs(n, min(250, choose(n, 2)), min(250, choose(n, 2)) == choose(n, 2))
    Xsc <- Xs$scores
    B <- get("extradir", rr)(Xsc, min(250, choose(n, 2)), all = min(250, choose(n, 2)) == choose(n, 2))
    if (!identical(unname(B), unname(Xsc[pairs[, 1], , drop = FALSE] - Xsc[pairs[, 2], , drop = FALSE]))) stop("extradir pairs")
    x0 <- C$Xh.svd0; x1 <- C$Xh.svd1
    rec$projection <- list(
      outlyingness = uv(C$outl),
      direction_pairs = matrix(as.integer(pairs), ncol = 2),
      n_directions = nrow(pairs), all_pairs = nrow(pairs) == choose(n, 2),
      H0 = ui(sort(C$H0[seq_len(C$h)])),
      H0_svd = list(center = uv(x0$center), eigenvalues = uv(x0$eigenvalues), rank = x0$rank,
                    loadings = if (store_big) um(x0$loadings) else NA),
      k_after_H0 = C$k,
      extra_reweighting = if (!is.null(C$odh)) list(
        odh = uv(C$odh), cutoffodh = C$cutoffodh, method = "umcd", quan = C$h,
        indexset = I(as.logical(C$indexset))) else NA,
      subspace_svd = list(center = uv(x1$center), eigenvalues = uv(x1$eigenvalues), rank = x1$rank,
                          loadings = if (store_big) um(x1$loadings) else NA),
      X2_initial = um(C$X2_init),
      csteps = list(iterations = C$csteps_iter, final_obj = C$csteps_obj,
                    X2 = um(C$X2_csteps), mah = uv(C$csteps_mah),
                    center = uv(C$csteps_center),
                    rot = if (store_big) um(C$csteps_rot) else NA),
      X2mcd = list(alpha = C$X2mcd@alpha, quan = C$X2mcd@quan, nsamp = 250L,
                   center = uv(C$X2mcd@center), cov = um(C$X2mcd@cov),
                   raw.center = uv(C$X2mcd@raw.center), raw.cov = um(C$X2mcd@raw.cov),
                   crit = C$X2mcd@crit, best = ui(sort(C$X2mcd@best)),
                   raw.cnp2 = uv(C$X2mcd@raw.cnp2), cnp2 = uv(C$X2mcd@cnp2)),
      final_used_mcd = C$used_mcd,
      final_center_in_X2 = uv(C$X2center), final_cov_in_X2 = um(C$X2cov),
      final_eigen_values = uv(C$ee$values), final_eigen_vectors = um(C$ee$vectors))
  }
  rec
}

## ---------------------------------------------------------------------------
## data sets
## ---------------------------------------------------------------------------
data(hbk, wood, starsCYG, bushfire, milk, coleman, pulpfiber, package = "robustbase", envir = environment())
data(octane, olitos, bus, package = "rrcov", envir = environment())
data(stackloss, package = "datasets", envir = environment())
sets <- list(
  hbk_x       = list(X = dm(hbk[, 1:3]),      source = "robustbase::hbk, columns X1..X3", mcd_false = TRUE),
  stackloss   = list(X = dm(stackloss),       source = "datasets::stackloss, all 4 columns"),
  starsCYG    = list(X = dm(starsCYG),        source = "robustbase::starsCYG"),
  bushfire    = list(X = dm(bushfire),        source = "robustbase::bushfire"),
  milk        = list(X = dm(milk),            source = "robustbase::milk", mcd_false = TRUE, alpha_explicit = TRUE),
  pulpfiber   = list(X = dm(pulpfiber),       source = "robustbase::pulpfiber, all 8 columns"),
  wood_x      = list(X = dm(wood[, 1:5]),     source = "robustbase::wood, columns x1..x5"),
  coleman_x   = list(X = dm(coleman[, 1:5]),  source = "robustbase::coleman, columns salaryP..motherLev"),
  olitos      = list(X = dm(olitos[, 1:25]),  source = "rrcov::olitos, the 25 numeric columns (grp dropped)"),
  bus         = list(X = dm(bus),             source = "rrcov::bus, all 18 columns"),
  octane      = list(X = dm(octane[, -1]),    source = "rrcov::octane without y (226 wavelengths)")
)

for (nm in names(sets)) {
  X <- sets[[nm]]$X; n <- nrow(X); p <- ncol(X)
  K <- if (p == 2) 1 else if (p <= 5) 2 else 3
  big <- p <= 30
  cat(nm, n, "x", p, "K =", K, "\n")
  fits <- list(classic_record(X, K), classic_record(X, 0),
               hubert_record(X, K, store_big = big), hubert_record(X, 0, store_big = big))
  if (isTRUE(sets[[nm]]$mcd_false))
    fits <- c(fits, list(hubert_record(X, K, list(mcd = FALSE), big)))
  if (isTRUE(sets[[nm]]$alpha_explicit))
    fits <- c(fits, list(hubert_record(X, K, list(alpha = 0.75), big)))
  res <- list(
    `_meta` = c(meta("pca.R"), list(RNGkind = I(RNGkind()), seed = SEED)),
    name = nm, source = sets[[nm]]$source, n = n, p = p,
    columns = I(colnames(X)),
    rownames = I(if (is.null(rownames(X))) as.character(seq_len(n)) else rownames(X)),
    K = K,
    X = unname(X),
    fits = fits)
  write_fixture(res, paste0("pca_", nm, ".json"))
}
