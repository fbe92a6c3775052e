"""Conditional-GAN training shared by the GAN models, in the keras-io "conditional GAN" style.

`ConditionalGAN(generator, discriminator, l1_weight)` is a functional model whose graph is
the generator (so `predict`, `export` and `input_shape` see the colorizer alone), with the
discriminator kept beside it for `fit`. On (input, target) batches `train_step` takes one
Adam step for each network:

    d: DISCRIMINATOR_LOSS_WEIGHT * (BCE(D(real), 1) + BCE(D(fake), 0))
    g: BCE(D(fake), 1) + l1_weight * MAE(fake, real)

(the weight is 0.5, Isola et al.'s pix2pix halving, unless a subclass's paper says otherwise)

and reports "g_gan", "g_l1" and "d" (`val_g_l1` is the validation colour error).
`train_generator = False` freezes the generator so the discriminator trains alone (a
warm-up phase); the flag decides what `train_step` traces, so setting it rebuilds the
train function, also in the middle of `fit` (from a callback's `on_epoch_begin`).

Subclasses decide what the discriminator sees (`discriminate`): pix2pix-style pairs
(input, image) or the image alone.
"""

import keras
import tensorflow as tf

from keras_colorize import losses

LOSS_NAMES = ("g_gan", "g_l1", "d")
LEARNING_RATE = 2e-4
ADAM_BETA_1 = 0.5

_mean_absolute_error = losses.get("mae")


def default_optimizer():
    """Adam with learning rate 2e-4 and beta_1 0.5 (the DCGAN / pix2pix settings)."""
    return keras.optimizers.Adam(learning_rate=LEARNING_RATE, beta_1=ADAM_BETA_1)


class ConditionalGAN(keras.Model):
    """A generator trained against a discriminator; `call` runs the generator (see module doc)."""

    DISCRIMINATOR_LOSS_WEIGHT = 0.5

    def __init__(self, generator, discriminator, l1_weight=100.0, train_generator=True, **kwargs):
        inputs = keras.Input(generator.input_shape[1:], name=generator.inputs[0].name)
        super().__init__(inputs, generator(inputs), **kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.l1_weight = float(l1_weight)
        self._train_generator = bool(train_generator)
        self.loss_trackers = {name: keras.metrics.Mean(name=name) for name in LOSS_NAMES}

    def discriminate(self, inputs, images, training):
        """The discriminator's logits for `images` generated from (or paired with) `inputs`."""
        raise NotImplementedError

    @property
    def train_generator(self):
        return self._train_generator

    @train_generator.setter
    def train_generator(self, value):
        if bool(value) == self._train_generator:
            return
        self._train_generator = bool(value)
        if self.train_function is not None:
            self.make_train_function(force=True)

    def compile(self, g_optimizer=None, d_optimizer=None, auto_scale_loss=True, **kwargs):
        """`g_optimizer` / `d_optimizer` default to `default_optimizer()`. As `Model.compile`
        does for its one optimizer, a mixed_float16 model's are wrapped in a
        LossScaleOptimizer unless `auto_scale_loss` is False. Other options (steps_per_execution,
        jit_compile, ...) are `Model.compile`'s; the losses and metrics are the GAN's own."""
        if given := sorted(set(kwargs) & {"optimizer", "loss", "loss_weights", "metrics", "weighted_metrics"}):
            raise TypeError(f"{type(self).__name__}.compile takes g_optimizer and d_optimizer; its losses "
                            f"and metrics are its own (see models.gan), so it takes no {', '.join(given)}")
        super().compile(optimizer=None, **kwargs)
        self.g_optimizer = self._loss_scaled(keras.optimizers.get(g_optimizer or default_optimizer()), auto_scale_loss)
        self.d_optimizer = self._loss_scaled(keras.optimizers.get(d_optimizer or default_optimizer()), auto_scale_loss)
        # Built now so that a loaded model has slots for the saved optimizer state.
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)

    def _loss_scaled(self, optimizer, auto_scale_loss):
        if (auto_scale_loss and self.dtype_policy.name == "mixed_float16"
                and not isinstance(optimizer, keras.optimizers.LossScaleOptimizer)):
            return keras.optimizers.LossScaleOptimizer(optimizer)
        return optimizer

    @property
    def metrics(self):
        return list(self.loss_trackers.values())

    def _gan_losses(self, inputs, real, training):
        fake = self.generator(inputs, training=training and self.train_generator)
        real_logits = self.discriminate(inputs, real, training)
        fake_logits = self.discriminate(inputs, fake, training)
        return {
            "g_gan": losses.generator_adversarial_loss(fake_logits),
            "g_l1": _mean_absolute_error(real, fake),
            "d": losses.discriminator_loss(real_logits, fake_logits, self.DISCRIMINATOR_LOSS_WEIGHT),
        }

    def _report(self, batch_losses):
        # Under tf.distribute, Keras losses come divided by the replica count (so that summing
        # the replicas' gradients averages them); the trackers report the loss itself.
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        for name, value in batch_losses.items():
            self.loss_trackers[name].update_state(value * replicas)
        return {name: tracker.result() for name, tracker in self.loss_trackers.items()}

    def train_step(self, data):
        inputs, real, _ = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            batch_losses = self._gan_losses(inputs, real, training=True)
            g_loss = batch_losses["g_gan"] + self.l1_weight * batch_losses["g_l1"]
            # scale_loss is the identity unless the optimizer is a LossScaleOptimizer,
            # whose apply_gradients then unscales (and skips non-finite steps).
            g_loss = self.g_optimizer.scale_loss(g_loss)
            d_loss = self.d_optimizer.scale_loss(batch_losses["d"])
        _step(self.d_optimizer, d_tape, d_loss, self.discriminator)
        if self.train_generator:
            _step(self.g_optimizer, g_tape, g_loss, self.generator)
        return self._report(batch_losses)

    def test_step(self, data):
        inputs, real, _ = keras.utils.unpack_x_y_sample_weight(data)
        return self._report(self._gan_losses(inputs, real, training=False))

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "l1_weight": self.l1_weight,
            "train_generator": self.train_generator,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for network in ("generator", "discriminator"):
            config[network] = keras.saving.deserialize_keras_object(config[network])
        return cls(**config)

    def get_compile_config(self):
        if not self.compiled:
            return {}
        return {
            "g_optimizer": keras.optimizers.serialize(self.g_optimizer),
            "d_optimizer": keras.optimizers.serialize(self.d_optimizer),
            "steps_per_execution": self.steps_per_execution,
        }

    def compile_from_config(self, config):
        config = dict(config)
        for network in ("g_optimizer", "d_optimizer"):
            config[network] = keras.optimizers.deserialize(config[network])
        self.compile(**config)


def _step(optimizer, tape, loss, network):
    variables = network.trainable_variables
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
