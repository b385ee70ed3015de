## charts.R -- upper control limits (UCL) of Hotelling T^2 control charts.
##
## Run from the repository root:   Rscript tests/reference/charts.R
## Output:                          tests/reference/data/charts.json
## Optional:  CHARTS_MC=1 Rscript tests/reference/charts.R   additionally runs a
##            small Monte-Carlo check of the five distributions (printed only).
##
## Notation: p = number of variables, m = number of Phase I observations
## (individuals) or of Phase I subgroups, k = subgroup size, alpha = false
## alarm probability per plotted point.  All lower control limits are 0.
##
## Individual observations (Tracy, Young & Mason 1992, J. Quality Technology
## 24, 88-95; Mason & Young 2002, "Multivariate Statistical Process Control with
## Industrial Applications", ASA-SIAM, ch. 2; Montgomery, "Introduction to
## Statistical Quality Control", Sec. "The Hotelling T^2 control chart",
## individual observations):
##   T2_i = (x_i - xbar)' S^{-1} (x_i - xbar), xbar and S from the m Phase I rows.
##   Phase I  (x_i is one of the m rows used for xbar, S):
##       T2_i ~ ((m - 1)^2 / m) * Beta(p/2, (m - p - 1)/2)          (exact)
##       UCL  = ((m - 1)^2 / m) * qbeta(1 - alpha, p/2, (m - p - 1)/2)
##   Phase II (a new x, independent of xbar, S):
##       T2   ~ p (m + 1)(m - 1) / (m (m - p)) * F(p, m - p)          (exact)
##       UCL  = p (m + 1)(m - 1) / (m (m - p)) * qf(1 - alpha, p, m - p)
##
## Subgroups of size k (Alt 1985, "Multivariate quality control", Encyclopedia
## of Statistical Sciences 6; Montgomery, same section, subgrouped
## data), T2_j = k (xbar_j - xbarbar)' Sbar^{-1} (xbar_j - xbarbar), with Sbar
## the average of the m within-subgroup covariance matrices
## (m (k - 1) degrees of freedom):
##   Phase I:  UCL = p (m - 1)(k - 1) / (m k - m - p + 1) * qf(1 - alpha, p, m k - m - p + 1)
##   Phase II: UCL = p (m + 1)(k - 1) / (m k - m - p + 1) * qf(1 - alpha, p, m k - m - p + 1)
##   Both are exact under normality: Sbar (within-subgroup scatter) is
##   independent of the subgroup means, Var(xbar_j - xbarbar) = Sigma/k * (m-1)/m
##   in Phase I and Sigma/k * (m+1)/m for a new subgroup in Phase II, so
##   T2_j = c * Hotelling T^2(p, m(k-1)) with c = (m-1)/m resp. (m+1)/m.
##   (The optional Monte-Carlo check below agrees for all five limits.)
##
## Known mean and covariance:  T2 ~ chi^2_p,  UCL = qchisq(1 - alpha, p)
## (for subgroups: T2_j = k (xbar_j - mu)' Sigma^{-1} (xbar_j - mu), same limit).
##
## Nothing here is random (except the optional Monte-Carlo check, seeded).

script_dir <- local({                   # this folder, wherever R is started
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  if (length(f)) dirname(normalizePath(f)) else if (dir.exists("tests/reference")) "tests/reference" else "."
})
source(file.path(script_dir, "_fixtures.R"))


ucl_ind_phase1 <- function(m, p, a) ((m - 1)^2 / m) * qbeta(1 - a, p / 2, (m - p - 1) / 2)
ucl_ind_phase2 <- function(m, p, a) p * (m + 1) * (m - 1) / (m * (m - p)) * qf(1 - a, p, m - p)
ucl_sub_phase1 <- function(m, k, p, a) {
  d2 <- m * k - m - p + 1
  p * (m - 1) * (k - 1) / d2 * qf(1 - a, p, d2)
}
ucl_sub_phase2 <- function(m, k, p, a) {
  d2 <- m * k - m - p + 1
  p * (m + 1) * (k - 1) / d2 * qf(1 - a, p, d2)
}
ucl_known <- function(p, a) qchisq(1 - a, p)

recs <- list()
for (m in c(20, 50, 100)) for (p in c(2, 3, 5, 10)) for (a in c(0.0027, 0.01, 0.05)) {
  subs <- lapply(c(3, 5), function(k) list(
    k = as.integer(k),
    df1 = p, df2 = m * k - m - p + 1,
    F_quantile = qf(1 - a, p, m * k - m - p + 1),
    phase1_ucl = ucl_sub_phase1(m, k, p, a),
    phase2_ucl = ucl_sub_phase2(m, k, p, a)))
  recs[[length(recs) + 1]] <- list(
    m = as.integer(m), p = as.integer(p), alpha = a,
    individual = list(
      phase1_ucl = ucl_ind_phase1(m, p, a),
      phase1_beta_shape1 = p / 2, phase1_beta_shape2 = (m - p - 1) / 2,
      phase1_beta_quantile = qbeta(1 - a, p / 2, (m - p - 1) / 2),
      phase2_ucl = ucl_ind_phase2(m, p, a),
      phase2_df1 = p, phase2_df2 = m - p,
      phase2_F_quantile = qf(1 - a, p, m - p)),
    subgroups = subs,
    known_params_ucl = ucl_known(p, a))
}

write_fixture(list(
  `_meta` = meta("charts.R"),
  formulas = list(
    individual_phase1 = "((m-1)^2/m) * qbeta(1-alpha, p/2, (m-p-1)/2)",
    individual_phase2 = "p*(m+1)*(m-1)/(m*(m-p)) * qf(1-alpha, p, m-p)",
    subgroup_phase1   = "p*(m-1)*(k-1)/(m*k-m-p+1) * qf(1-alpha, p, m*k-m-p+1)",
    subgroup_phase2   = "p*(m+1)*(k-1)/(m*k-m-p+1) * qf(1-alpha, p, m*k-m-p+1)",
    known_params      = "qchisq(1-alpha, p)"),
  records = recs
), "charts.json")

## ---------------------------------------------------------------------------
## optional Monte-Carlo check (not written to JSON)
## ---------------------------------------------------------------------------
if (nzchar(Sys.getenv("CHARTS_MC"))) {
  set.seed(42)
  R <- 20000; m <- 20; p <- 3; k <- 5; a <- 0.05
  ind1 <- ind2 <- sub1 <- sub2 <- kn <- logical(R)
  for (r in seq_len(R)) {
    X <- matrix(rnorm(m * p), m, p); xb <- colMeans(X); S <- cov(X)
    ind1[r] <- mahalanobis(X[1, ], xb, S) > ucl_ind_phase1(m, p, a)
    ind2[r] <- mahalanobis(rnorm(p), xb, S) > ucl_ind_phase2(m, p, a)
    kn[r]   <- sum(rnorm(p)^2) > ucl_known(p, a)
    G <- array(rnorm(m * k * p), c(k, p, m))
    xbj <- t(apply(G, 3, colMeans)); Sbar <- Reduce(`+`, lapply(1:m, function(j) cov(G[, , j]))) / m
    xbb <- colMeans(xbj)
    sub1[r] <- k * mahalanobis(xbj[1, ], xbb, Sbar) > ucl_sub_phase1(m, k, p, a)
    new <- colMeans(matrix(rnorm(k * p), k, p))
    sub2[r] <- k * mahalanobis(new, xbb, Sbar) > ucl_sub_phase2(m, k, p, a)
  }
  cat(sprintf("Monte-Carlo (R=%d, m=%d, p=%d, k=%d, alpha=%g) exceedance rates:\n", R, m, p, k, a))
  print(round(c(individual_phase1 = mean(ind1), individual_phase2 = mean(ind2),
                subgroup_phase1 = mean(sub1), subgroup_phase2 = mean(sub2),
                known = mean(kn)), 4))
}
