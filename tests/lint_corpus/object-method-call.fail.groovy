pipeline {
    agent any
    stages {
        stage('build') {
            steps {
                currentBuild.setDescription('x')  // <-- object-method-call
            }
        }
    }
}
