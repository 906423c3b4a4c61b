"""VaDE, Variational Deep Embedding (Jiang, Zheng, Tan, Tang and Zhou, 2017).

A variational autoencoder whose prior is a mixture of Gaussians, one component per cluster: the
clusters are the mixture's components, a sample's cluster the most probable component of its
embedding. As in the paper's reference code, the dense autoencoder is pretrained, a diagonal
Gaussian mixture fitted on its embedding initialises the prior, then the whole model (encoder,
decoder and prior) is trained on the ELBO. Being generative, it can also draw new images from each
cluster (`generated_`).
"""
from __future__ import annotations

import numpy as np
from sklearn.mixture import GaussianMixture

from core.algorithms.autoencoder import ARCHITECTURE, AUTOENCODER_PARAMETERS, _AutoencoderClustering
from core.algorithms.assignment import diagonal_mixture_posterior
from core.params import Interval, Param


class VaDE(_AutoencoderClustering):
    """Variational Deep Embedding: a VAE with a Gaussian-mixture prior, clustered by its components.

    The decoder is Gaussian with one noise variance for all pixels, set to ``beta`` times the
    pretrained autoencoder's mean squared reconstruction error (the maximum-likelihood noise
    variance, times `beta`). This suits data in [0, 1] and standardised data alike, unlike the
    paper's Bernoulli decoder (which needs [0, 1]), and a `beta` above 1 weights the mixture's KL
    term against reconstruction as in a beta-VAE: on digits, ``beta=1`` moved NMI little from the
    mixture it started from (0.73-0.78 to 0.78-0.80 in 30 epochs), 8 raised it to 0.82-0.84.

    Parameters
    ----------
    n_clusters, latent_dim, hidden_units, epochs, batch_size, learning_rate, input_dropout,
    restart_every, random_state
        As :class:`~core.algorithms.autoencoder.AutoencoderKMeans` (``epochs``, ``learning_rate`` and
        ``restart_every`` concern the pretraining of the autoencoder).
    vade_epochs : int, default=30
        Passes over the data training the ELBO. On digits NMI rose by 0.005-0.01 more from 30 to 50.
    vade_learning_rate : float, default=0.001
        Adam's step size for the ELBO. 0.002 (the paper's) lowered NMI on digits, to 0.71-0.77.
    beta : float, default=8.0
        Decoder noise variance as a multiple of the pretrained reconstruction error: the weight of
        the mixture prior against reconstruction (see above).
    n_init : int, default=5
        Restarts of the Gaussian mixture that initialises the prior.
    n_generated : int, default=10
        Images drawn from each component for `generated_`.
    architecture : {"auto", "dense", "convolutional"}, default="auto"
        The encoder and decoder: convolutional for images of 16x16 pixels and up, dense otherwise
        (:func:`core.algorithms.spaces.resolve_architecture`). On 5,000 real 28x28 digits (seed 0)
        VaDE reached ACC 0.693 with the convolutional network against 0.636 with the dense one.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        The most probable component of each sample's embedding.
    embedding_ : ndarray of shape (n_samples, latent_dim)
        Means of q(z | x) after training.
    probabilities_ : ndarray of shape (n_samples, n_clusters)
        gamma = p(c | z) at those means; ``probabilities_.max(axis=1)`` is each sample's confidence.
    weights_ : ndarray of shape (n_clusters,)
        Mixture weights pi.
    means_ : ndarray of shape (n_clusters, latent_dim)
        Component means mu_c.
    variances_ : ndarray of shape (n_clusters, latent_dim)
        Component variances sigma_c^2 (diagonal).
    initial_labels_ : ndarray of shape (n_samples,)
        The Gaussian mixture's labels the ELBO training started from.
    generated_ : ndarray of shape (n_clusters, n_generated, H, W, C)
        Images decoded from draws z ~ N(mu_c, sigma_c^2) of each component, in [0, 1] (clipped for
        data in [0, 1]; otherwise mapped from the training data's range first). Inputs given as
        vectors of d features come back with shape (d, 1, 1).
    noise_variance_ : float
        The decoder's noise variance.
    vade_ : core.models.vade.VaDEModel
        The trained model; its encoder and decoder share their weights with `autoencoder_`.
    autoencoder_, history_, timings_
        As the autoencoder methods; `history_` holds the pretraining epochs then one row per ELBO
        epoch (phase "vade", loss in nats per sample), `timings_` the phases "pretrain", "init" (the
        mixture) and "cluster" (the ELBO training).

    Examples
    --------
    >>> from core.data import load_dataset
    >>> data = load_dataset("digits")
    >>> model = VaDE(n_clusters=10, epochs=5, vade_epochs=2).fit(data.images)
    >>> model.generated_.shape
    (10, 10, 8, 8, 1)
    """

    name, title = "vade", "VaDE (Gaussian-mixture VAE)"
    description = ("A variational autoencoder whose prior is a mixture of Gaussians, one per cluster (Jiang "
                   "et al. 2017): a generative model, so it draws new images of each cluster and gives soft "
                   "memberships. Use it to see what the model believes a cluster looks like, not for the best "
                   "clusters: in the minutes it gets here its own training keeps the clusters of the mixture it "
                   "starts from (ACC 0.69 on 5,000 real MNIST digits, about 2 minutes on 2 cores; N2D reaches "
                   "0.9). Its paper's 0.945 rests on pretrained weights whose training was never published.")
    parameters = AUTOENCODER_PARAMETERS + (
        ARCHITECTURE,
        Param("vade_epochs", Interval(int, 0, None), "VaDE epochs", high=200, step=1,
              help="Passes training the variational objective after pretraining."),
        Param("beta", Interval(float, 0, None, low_open=True), "Prior weight (beta)", options=(1.0, 2.0, 4.0, 8.0, 16.0),
              advanced=True, help="Scales the decoder's noise variance: larger lets the mixture "
                                  "prior shape the embedding more (8 measured best on digits)."),
        Param("vade_learning_rate", Interval(float, 0, 1, low_open=True), "VaDE learning rate",
              options=(1e-4, 3e-4, 1e-3, 2e-3), advanced=True, help="Adam's step size for the variational objective."),
        Param("n_init", Interval(int, 1, None)),
        Param("n_generated", Interval(int, 0, None)),
    )

    def __init__(self, n_clusters: int = 10, *, latent_dim: int = 10, hidden_units=(500, 500, 2000),
                 epochs: int = 75, batch_size=None, learning_rate: float = 1e-3,
                 input_dropout: float = 0.0, restart_every: int = 25, vade_epochs: int = 30,
                 vade_learning_rate: float = 1e-3, beta: float = 8.0, n_init: int = 5, n_generated: int = 10,
                 architecture: str = "auto", random_state: int = 0):
        super().__init__(n_clusters, latent_dim=latent_dim, hidden_units=hidden_units, epochs=epochs,
                         batch_size=batch_size, learning_rate=learning_rate, input_dropout=input_dropout,
                         restart_every=restart_every, random_state=random_state)
        self.vade_epochs = vade_epochs
        self.vade_learning_rate = vade_learning_rate
        self.beta = beta
        self.n_init = n_init
        self.n_generated = n_generated
        self.architecture = architecture

    def _fit(self, X: np.ndarray) -> None:
        from core.models.vade import VaDEModel, train_vade

        space, inputs = self._fit_space(X)

        report = self._reporter("init")
        report("Initialising the mixture prior with a Gaussian mixture on the embedding", 0.0)
        with self._timed("init"):
            Z = space.encode(inputs)
            gmm = GaussianMixture(self.n_clusters, covariance_type="diag", n_init=self.n_init,
                                  random_state=self.random_state).fit(Z)
            self.initial_labels_ = gmm.predict(Z).astype(np.int64)
            error = float(np.mean(np.square(space.decode(Z) - inputs)))
            self.noise_variance_ = float(self.beta) * max(error, 1e-6)
            # q(z | x) starts with a tenth of the components' mean variance: close to the encoder's
            # deterministic embedding, so the pretrained clustering is where the ELBO starts from.
            initial_log_variance = np.log(gmm.covariances_.mean(axis=0)) + np.log(0.1)
            self.vade_ = VaDEModel(self.autoencoder_.encoder, self.autoencoder_.decoder, gmm.weights_,
                                   gmm.means_, gmm.covariances_, initial_log_variance=initial_log_variance,
                                   noise_variance=self.noise_variance_, seed=self.random_state)
        report("Initialising the mixture prior with a Gaussian mixture on the embedding", 1.0)
        self._watch("cluster", space.encode, lambda Z: self._probabilities(np.asarray(Z, dtype=np.float32)).argmax(axis=1))

        with self._timed("cluster"):
            self.history_ += train_vade(
                self.vade_, inputs, epochs=self.vade_epochs, batch_size=self._batch_size,
                learning_rate=self.vade_learning_rate, seed=self.random_state, callback=self._callback,
                phase="cluster", history_phase="vade",
            )
            self.embedding_ = space.encode(inputs)
            self.probabilities_ = self._probabilities(self.embedding_)
            self.labels_ = self.probabilities_.argmax(axis=1).astype(np.int64)
            self.weights_ = self.vade_.mixture_weights
            self.means_ = self.vade_.mixture_means
            self.variances_ = self.vade_.mixture_variances
            self.generated_ = self._generate(X)

    def _probabilities(self, Z: np.ndarray) -> np.ndarray:
        from core.models.vade import cluster_probabilities

        return cluster_probabilities(self.vade_, Z)

    def _generate(self, X: np.ndarray) -> np.ndarray:
        """`n_generated` images from each component, shaped as `X`'s images and brought into [0, 1]."""
        from core.models.vade import sample_components

        shape = X.shape[1:] if X.ndim == 4 else (int(np.prod(X.shape[1:])), 1, 1)
        decoded = sample_components(self.vade_, np.arange(self.n_clusters), self.n_generated,
                                    seed=self.random_state)
        images = decoded.reshape((self.n_clusters, self.n_generated) + tuple(shape))
        low, high = float(X.min()), float(X.max())
        if low < 0.0 or high > 1.0:  # standardised data: map its range onto [0, 1]
            images = (images - low) / max(high - low, 1e-12)
        return np.clip(images, 0.0, 1.0).astype(np.float32)

    can_predict = True
    predict_rule = "each image joins the mixture component most likely to have made it"

    def _space_name(self, architecture=None) -> str:
        return "VaDE latent means"

    def _membership(self, Z):
        """p(c | z) under the fitted mixture prior, from its public arrays."""
        return diagonal_mixture_posterior(Z, self.weights_, self.means_, self.variances_)

    def _predict_embedding(self, Z):
        return self._membership(Z).argmax(axis=1)

    def progress_plan(self) -> list:
        return [("pretrain", float(self.epochs)), ("init", 1.0), ("cluster", float(self.vade_epochs))]

    def view_data(self) -> dict:
        """Confidence per sample and the images generated from each component."""
        return {**super().view_data(), "generated": self.generated_}
