"""Training on several processes or machines: `--strategy multiworker` (TF_CONFIG names them).

Three things stand between Keras 3 and tf.distribute.MultiWorkerMirroredStrategy:

- the strategy configures collective ops, which TensorFlow allows only before its runtime
  starts ("Collective ops must be configured at program startup"): `strategy()` is made before
  anything lists devices or runs an op, and once a process;
- `fit` builds a distributed model by reducing one batch with `strategy.reduce`, which fails
  on a batch of (input, target) pairs ("Attempt to convert a value (PerReplica ...)");
  `prepare_fit` builds it from one local batch's shapes instead, as fit would;
- each step's logs (scalar losses) are reduced "along axis 0", which scalars do not have;
  `prepare_fit` reduces them across the workers without an axis.
(keras-team/keras#20585 tracks the last two upstream.)

Every worker trains in step: the trainable weights are the same on all of them after each
step. BatchNormalization's moving statistics are each worker's own, from its share of the
data (Keras does not synchronize them); the chief's are the ones saved.
"""

import functools

import tensorflow as tf
from keras.src import tree
from keras.src.backend.tensorflow import trainer as keras_tf_trainer

_keras_reduce_per_replica = keras_tf_trainer.reduce_per_replica


@functools.cache
def strategy():
    """This process's MultiWorkerMirroredStrategy, cluster and task from TF_CONFIG."""
    return tf.distribute.MultiWorkerMirroredStrategy()


def is_chief():
    """Whether this process writes the run folder: the chief, or worker 0 when there is none."""
    return strategy().extended.should_checkpoint


def prepare_fit(model, train_pairs):
    """Let `model.fit` run under `strategy()` (see the module docstring)."""
    with strategy().scope():
        model._symbolic_build(data_batch=next(iter(train_pairs)))
    model._maybe_symbolic_build = lambda *args, **kwargs: None  # built: nothing left for fit to build
    keras_tf_trainer.reduce_per_replica = _reduce_per_replica


def _reduce_per_replica(values, distribution, reduction):
    """Keras's reduction of a step's outputs, with scalars averaged across workers."""
    if reduction in ("auto", "mean") and keras_tf_trainer._collective_all_reduce_multi_worker(distribution):
        return tree.map_structure(
            lambda value: distribution.reduce("MEAN", value, axis=0 if len(value.shape) else None), values
        )
    return _keras_reduce_per_replica(values, distribution, reduction)
